import { test } from 'node:test';
import assert from 'node:assert/strict';
import Delta from 'quill-delta';
import {
  SYNCHRONIZED, applyClient, applyServer, baseLength, isNoop, serverAck, toLocal, toServer,
  unacknowledged, unmapPosition, unsentEdits,
} from '../src/ot-client.js';
import { backoffDelayMs } from '../src/backoff.js';

const ins = (index, text) => new Delta().retain(index).insert(text);

test('a local edit while synchronized is sent at once', () => {
  const { state, send } = applyClient(SYNCHRONIZED, ins(0, 'a'), 7);
  assert.equal(state.kind, 'awaiting_confirm');
  assert.deepEqual(send, { seq: 7, delta: ins(0, 'a') });
  assert.equal(unsentEdits(state), 1);
});

test('edits while awaiting are composed into the buffer and sent after the ack', () => {
  let { state } = applyClient(SYNCHRONIZED, ins(0, 'a'), 1);
  ({ state } = applyClient(state, ins(1, 'b'), 2));
  const third = applyClient(state, ins(2, 'c'), 2);
  assert.equal(third.send, null);
  assert.equal(third.state.kind, 'awaiting_with_buffer');
  assert.deepEqual(third.state.buffer, ins(1, 'bc'));
  assert.equal(unsentEdits(third.state), 3);
  assert.deepEqual(unacknowledged(third.state), ins(0, 'abc'));
  const acked = serverAck(third.state);
  assert.deepEqual(acked.send, { seq: 2, delta: ins(1, 'bc') });
  assert.equal(acked.state.kind, 'awaiting_confirm');
  assert.equal(unsentEdits(acked.state), 2);
  assert.equal(serverAck(acked.state).state, SYNCHRONIZED);
  assert.throws(() => serverAck(SYNCHRONIZED));
});

test('the committed remote op wins ties, as on the server', () => {
  const base = new Delta().insert('xy\n');
  const local = ins(1, 'L');
  const remote = ins(1, 'R');
  const { state, local: remoteLocal } = applyServer(applyClient(SYNCHRONIZED, local, 1).state,
                                                    remote);
  // the server commits R first, then our pending op transformed with R winning the tie
  const server = base.compose(remote).compose(state.pending);
  const client = base.compose(local).compose(remoteLocal);
  assert.deepEqual(client, server);
  assert.equal(server.ops[0].insert, 'xRLy\n');
});

test('remote ops are rebased over pending and buffer', () => {
  const base = new Delta().insert('hello\n');
  let { state } = applyClient(SYNCHRONIZED, ins(5, '!'), 1);
  ({ state } = applyClient(state, new Delta().delete(1), 2));
  const remote = new Delta().retain(5).insert(' world');
  const result = applyServer(state, remote);
  const client = base.compose(ins(5, '!')).compose(new Delta().delete(1)).compose(result.local);
  const server = base.compose(remote).compose(result.state.pending).compose(result.state.buffer);
  assert.deepEqual(client, server);
  assert.equal(result.state.pendingEdits, 1);
  assert.equal(result.state.bufferEdits, 1);
  assert.deepEqual(applyServer(SYNCHRONIZED, remote), { state: SYNCHRONIZED, local: remote });
});

test('positions map between local and server coordinates', () => {
  const { state } = applyClient(SYNCHRONIZED, ins(2, 'abc'), 1);
  assert.equal(toLocal(state, 1), 1);
  assert.equal(toLocal(state, 2), 5);
  assert.equal(toServer(state, 5), 2);
  assert.equal(toServer(state, 3), 2); // inside our insert: its insertion point
  assert.equal(toServer(state, 6), 3);
  assert.equal(unmapPosition(new Delta().retain(1).delete(2), 1), 3);
  assert.equal(toServer(SYNCHRONIZED, 4), 4);
});

test('base length, no-ops', () => {
  assert.equal(baseLength(new Delta().retain(3).insert('x').delete(2)), 5);
  assert.ok(isNoop(new Delta().retain(3)));
  assert.ok(!isNoop(new Delta().retain(3, { bold: true })));
});

test('backoff: 1, 2, 4 … 30 s, jitter only shortens', () => {
  const nominal = [0, 1, 2, 3, 4, 5, 6, 40].map((a) => backoffDelayMs(a, { random: () => 0 }));
  assert.deepEqual(nominal, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  assert.equal(backoffDelayMs(2, { random: () => 1 }), 2000);
  for (let i = 0; i < 100; i += 1) {
    const delay = backoffDelayMs(10);
    assert.ok(delay >= 15000 && delay <= 30000);
  }
});
