import { test } from 'node:test';
import assert from 'node:assert/strict';
import Delta from 'quill-delta';
import { CLOSE, SessionMachine, classifyClose, newClientId } from '../src/session.js';

const ins = (index, text) => new Delta().retain(index).insert(text);
const welcome = (extra = {}) => ({
  type: 'welcome', doc_id: 'd1', version: 3, head: 3, snapshot: [{ insert: 'abc\n' }],
  role: 'editor', user: { id: 'u1', name: 'Ann' }, client_id: 'me', peers: [], ...extra,
});

function opened(extra) {
  const machine = new SessionMachine('me');
  const reaction = machine.welcome(welcome(extra));
  return { machine, reaction };
}

test('client ids are valid and fresh', () => {
  const id = newClientId();
  assert.match(id, /^[A-Za-z0-9_-]{1,64}$/);
  assert.notEqual(id, newClientId());
});

test('hello is fresh first, then resumes at the version', () => {
  const machine = new SessionMachine('me');
  assert.deepEqual(machine.hello('tok'), { type: 'hello', token: 'tok', client_id: 'me',
                                           version: null });
  machine.welcome(welcome());
  assert.equal(machine.hello('tok').version, 3);
  machine.requestReload('x');
  assert.equal(machine.hello('tok').version, null);
});

test('welcome loads the snapshot and announces our presence', () => {
  const { machine, reaction } = opened({ peers: [
    { type: 'cursor', client_id: 'p1', user: { id: 'u2', name: 'Bob' }, version: 3, index: 1,
      length: 1 }] });
  assert.equal(reaction.events[0].type, 'load');
  assert.deepEqual(reaction.events[0].content, new Delta().insert('abc\n'));
  assert.ok(reaction.events.some((e) => e.type === 'peer-joined' && e.user.name === 'Bob'));
  assert.ok(reaction.events.some((e) => e.type === 'cursor' && e.index === 1));
  assert.deepEqual(machine.outgoing(), [{ type: 'cursor', version: 3, index: null, length: 0 }]);
  assert.deepEqual(machine.outgoing(), []);
});

test('one op in flight; the ack releases the buffer', () => {
  const { machine } = opened();
  machine.outgoing();
  machine.edit(ins(3, 'd'));
  machine.edit(ins(4, 'e'));
  assert.deepEqual(machine.outgoing({ cursor: false }),
                   [{ type: 'op', seq: 1, version: 3, delta: ins(3, 'd').ops }]);
  assert.deepEqual(machine.outgoing(), []);
  assert.equal(machine.unsent, 2);
  const acked = machine.handle({ type: 'ack', seq: 1, version: 3 });
  assert.deepEqual(acked.events, [{ type: 'acked', seq: 1, version: 3 }]);
  assert.deepEqual(machine.outgoing(), [{ type: 'op', seq: 2, version: 4, delta: ins(4, 'e').ops }]);
  machine.handle({ type: 'ack', seq: 2, version: 4 });
  assert.ok(machine.synchronized);
  assert.equal(machine.version, 5);
  assert.deepEqual(machine.serverContent, new Delta().insert('abcde\n'));
});

test('an op frame with our client_id and pending seq is the ack', () => {
  const { machine } = opened();
  machine.edit(ins(0, 'x'));
  machine.outgoing();
  const reaction = machine.handle({ type: 'op', version: 3, delta: ins(0, 'x').ops,
                                    client_id: 'me', user_id: 'u1', seq: 1 });
  assert.equal(reaction.events[0].type, 'acked');
  assert.ok(machine.synchronized);
  assert.equal(machine.version, 4);
});

test('remote ops: duplicates ignored, gaps resync, rebased over pending', () => {
  const { machine } = opened();
  machine.edit(ins(1, 'L'));
  machine.outgoing();
  const remote = machine.handle({ type: 'op', version: 3, delta: ins(1, 'R').ops,
                                  client_id: 'other', user_id: 'u2', seq: 9 });
  assert.deepEqual(remote.events[0].local, ins(1, 'R')); // the committed op goes first
  assert.equal(machine.version, 4);
  assert.deepEqual(machine.handle({ type: 'op', version: 3, delta: [], client_id: 'o', seq: 1 }),
                   { events: [], action: null });
  assert.deepEqual(machine.handle({ type: 'op', version: 9, delta: [], client_id: 'o', seq: 2 }).action,
                   { kind: 'resync', reason: 'gap' });
  machine.handle({ type: 'ack', seq: 1, version: 4 });
  assert.deepEqual(machine.serverContent, new Delta().insert('aRLbc\n'));
});

test('resume: pending is resent only once caught up to head', () => {
  const { machine } = opened();
  machine.outgoing();
  machine.edit(ins(0, 'x'));
  machine.outgoing();
  machine.disconnected();
  machine.edit(ins(1, 'y')); // offline edit goes into the buffer
  assert.deepEqual(machine.outgoing(), []);
  assert.equal(machine.unsent, 2);
  assert.equal(machine.hello('t').version, 3);
  machine.welcome(welcome({ version: 3, head: 5, snapshot: null }));
  assert.deepEqual(machine.outgoing(), []);
  machine.handle({ type: 'op', version: 3, delta: ins(0, 'A').ops, client_id: 'o', seq: 1 });
  assert.deepEqual(machine.outgoing(), []);
  machine.handle({ type: 'op', version: 4, delta: ins(0, 'B').ops, client_id: 'o', seq: 2 });
  const frames = machine.outgoing({ cursor: false });
  assert.deepEqual(frames, [{ type: 'op', seq: 1, version: 5, delta: ins(2, 'x').ops }]);
});

test('resume: our own op committed before the drop arrives in the catch-up as its ack', () => {
  const { machine } = opened();
  machine.edit(ins(0, 'x'));
  machine.outgoing();
  machine.disconnected();
  machine.welcome(welcome({ version: 3, head: 4, snapshot: null }));
  machine.handle({ type: 'op', version: 3, delta: ins(0, 'x').ops, client_id: 'me', seq: 1 });
  assert.ok(machine.synchronized);
  assert.deepEqual(machine.outgoing({ cursor: false }), []);
});

test('a welcome at another version than ours asks for a reload', () => {
  const { machine } = opened();
  const reaction = machine.welcome(welcome({ version: 2, snapshot: null }));
  assert.deepEqual(reaction.action, { kind: 'reload', reason: 'desync' });
  assert.equal(machine.hello('t').version, null);
});

test('forbidden reverts the local edits and makes us a viewer', () => {
  const { machine } = opened();
  machine.edit(ins(0, 'x'));
  machine.edit(ins(0, 'y'));
  machine.outgoing();
  const reaction = machine.handle({ type: 'error', code: 'forbidden', message: 'no', seq: 1 });
  const event = reaction.events[0];
  assert.equal(event.type, 'rejected');
  assert.equal(event.role, 'viewer');
  const local = new Delta().insert('abc\n').compose(ins(0, 'x')).compose(ins(0, 'y'));
  assert.deepEqual(local.compose(event.revert), new Delta().insert('abc\n'));
  assert.ok(machine.synchronized);
  assert.equal(machine.unsent, 0);
});

test('invalid_op reloads; unrelated errors are remembered for the close', () => {
  const { machine } = opened();
  machine.edit(ins(0, 'x'));
  machine.outgoing();
  machine.handle({ type: 'error', code: 'unauthorized', message: 'expired' });
  assert.equal(machine.lastError.code, 'unauthorized');
  const reaction = machine.handle({ type: 'error', code: 'invalid_op', message: 'bad', seq: 1 });
  assert.deepEqual(reaction.action, { kind: 'reload', reason: 'invalid_op' });
});

test('edits that do not fit are refused', () => {
  const { machine } = opened();
  assert.throws(() => machine.edit(new Delta().retain(10).insert('x')));
  assert.throws(() => machine.select(99, 0), RangeError);
  assert.throws(() => new SessionMachine('x').edit(ins(0, 'a')));
});

test('cursors: rebased through later ops, held until we reach their version', () => {
  const { machine } = opened();
  machine.outgoing();
  const bob = { id: 'u2', name: 'Bob' };
  // tagged above our version: held back
  let reaction = machine.handle({ type: 'cursor', client_id: 'p', user: bob, version: 4,
                                  index: 2, length: 0 });
  assert.ok(!reaction.events.some((e) => e.type === 'cursor'));
  machine.handle({ type: 'op', version: 3, delta: ins(0, 'zz').ops, client_id: 'q', seq: 1 });
  assert.deepEqual(machine.remoteCursors(), [{ client_id: 'p', user: bob, index: 2, length: 0 }]);
  // our pending insert before it pushes it right locally
  machine.edit(ins(0, 'm'));
  assert.equal(machine.remoteCursors()[0].index, 3);
  // the selection we send is in server coordinates
  machine.select(3, 1);
  const sent = machine.outgoing().find((f) => f.type === 'cursor');
  assert.deepEqual(sent, { type: 'cursor', version: 4, index: 2, length: 1 });
  reaction = machine.handle({ type: 'leave', client_id: 'p' });
  assert.deepEqual(machine.remoteCursors(), []);
  assert.equal(machine.peers.size, 0);
});

test('close codes', () => {
  assert.equal(classifyClose(CLOSE.UNAUTHORIZED, '', null).kind, 'unauthorized');
  for (const code of [4400, 4403, 4404, 1000]) assert.equal(classifyClose(code, '', null).kind, 'fatal');
  assert.equal(classifyClose(4409, '', null).kind, 'reload');
  assert.equal(classifyClose(1009, '', null).kind, 'reload');
  for (const code of [1001, 1006, 1011, 1012, 4408, 4429]) {
    assert.equal(classifyClose(code, '', null).kind, 'resync');
  }
  assert.equal(classifyClose(4404, 'r', { message: 'gone' }).message, 'gone');
});
