// The network shell against a fake WebSocket and fetch: hello with the stored token,
// batched frames, resume after a drop with the offline edits, token refresh on 4401,
// no retry after 4404.

import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import Delta from 'quill-delta';

class MemoryStorage {
  constructor() { this.items = new Map(); }
  getItem(key) { return this.items.has(key) ? this.items.get(key) : null; }
  setItem(key, value) { this.items.set(key, String(value)); }
  removeItem(key) { this.items.delete(key); }
}

class FakeWebSocket {
  static OPEN = 1;
  static instances = [];
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.closedByClient = null;
    FakeWebSocket.instances.push(this);
  }
  send(data) { this.sent.push(JSON.parse(data)); }
  close(code) { this.closedByClient = code; this.readyState = 3; }
  open() { this.readyState = 1; this.onopen?.(); }
  deliver(message) { this.onmessage?.({ data: JSON.stringify(message) }); }
  drop(code, reason = '') { this.readyState = 3; this.onclose?.({ code, reason }); }
}

const refreshes = [];
globalThis.window = new EventTarget();
globalThis.navigator = { onLine: true };
globalThis.localStorage = new MemoryStorage();
globalThis.WebSocket = FakeWebSocket;
globalThis.fetch = async (path, init = {}) => {
  const json = (status, body) => ({ status, ok: status < 400, json: async () => body });
  if (path === '/v1/config') return json(200, { ws_url: 'ws://collab.test/', version: '1' });
  if (path === '/v1/auth/refresh') {
    const { refresh_token: token } = JSON.parse(init.body);
    refreshes.push(token);
    if (token === 'refresh-bad') return json(401, { error: { code: 'invalid_refresh_token', message: 'no' } });
    return json(200, { access_token: `access-${refreshes.length}`, refresh_token: `refresh-${refreshes.length}` });
  }
  return json(404, { error: { code: 'not_found', message: path } });
};

const { Connection } = await import('../src/connection.js');
const { SessionMachine } = await import('../src/session.js');

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));
async function until(check, what) {
  for (let i = 0; i < 500; i += 1) {
    if (check()) return;
    await tick();
  }
  assert.fail(`timed out waiting for ${what}`);
}
const lastSocket = () => FakeWebSocket.instances[FakeWebSocket.instances.length - 1];
const ins = (index, text) => new Delta().retain(index).insert(text);
const welcome = (extra) => ({ type: 'welcome', doc_id: 'doc 1', version: 0, head: 0,
  snapshot: [{ insert: '\n' }], role: 'editor', user: { id: 'u1', name: 'Ann' },
  client_id: 'me', peers: [], ...extra });

function start() {
  const machine = new SessionMachine('me');
  const events = [];
  const fatal = [];
  const connection = new Connection({
    docId: 'doc 1', machine, onEvents: (batch) => events.push(...batch), onStatus: () => {},
    onFatal: (failure) => fatal.push(failure), backoff: () => 5,
  });
  connection.start();
  connections.push(connection);
  return { machine, connection, events, fatal };
}

const connections = [];
afterEach(() => {
  for (const connection of connections.splice(0)) connection.stop();
});

beforeEach(() => {
  FakeWebSocket.instances = [];
  refreshes.length = 0;
  localStorage.setItem('editor.session', JSON.stringify({ access_token: 'access-0', refresh_token: 'refresh-0' }));
});

test('hello carries the stored token; batched frames are handled in order', async () => {
  const { machine, connection, events } = start();
  await until(() => FakeWebSocket.instances.length === 1, 'a socket');
  const ws = lastSocket();
  assert.equal(ws.url, 'ws://collab.test/v1/docs/doc%201/ws');
  ws.open();
  assert.deepEqual(ws.sent[0], { type: 'hello', token: 'access-0', client_id: 'me', version: null });
  ws.deliver([welcome(), { type: 'op', version: 0, delta: ins(0, 'a').ops, client_id: 'x', user_id: 'u2', seq: 1 }]);
  ws.deliver({ type: 'op', version: 1, delta: ins(1, 'b').ops, client_id: 'x', user_id: 'u2', seq: 2 });
  assert.equal(connection.state, 'connected');
  assert.deepEqual(events.map((e) => e.type), ['load', 'welcome', 'remote', 'remote']);
  assert.equal(machine.version, 2);
  assert.deepEqual(machine.serverContent, new Delta().insert('ab\n'));
  // our presence is announced right after the welcome
  assert.deepEqual(ws.sent[1], { type: 'cursor', version: 1, index: null, length: 0 });
  connection.stop();
});

test('a dropped connection resumes at our version and sends the edits made meanwhile', async () => {
  const { machine, connection } = start();
  await until(() => FakeWebSocket.instances.length === 1, 'a socket');
  let ws = lastSocket();
  ws.open();
  ws.deliver(welcome());
  machine.edit(ins(0, 'x'));
  connection.flush();
  assert.deepEqual(ws.sent.at(-1), { type: 'op', seq: 1, version: 0, delta: ins(0, 'x').ops });
  ws.drop(1006);
  assert.match(connection.state, /reconnecting|offline/);
  machine.edit(ins(1, 'y')); // typed while offline
  connection.flush();
  assert.equal(machine.unsent, 2);
  await until(() => FakeWebSocket.instances.length === 2, 'a reconnect');
  ws = lastSocket();
  ws.open();
  assert.deepEqual(ws.sent[0], { type: 'hello', token: 'access-0', client_id: 'me', version: 0 });
  // the server had committed our op before the drop: it comes back in the catch-up
  ws.deliver([welcome({ version: 0, head: 1, snapshot: null }),
              { type: 'op', version: 0, delta: ins(0, 'x').ops, client_id: 'me', user_id: 'u1', seq: 1 }]);
  assert.equal(connection.state, 'connected');
  const ops = ws.sent.filter((f) => f.type === 'op');
  assert.deepEqual(ops, [{ type: 'op', seq: 2, version: 1, delta: ins(1, 'y').ops }]);
  ws.deliver({ type: 'ack', seq: 2, version: 1 });
  assert.equal(machine.unsent, 0);
  assert.deepEqual(machine.serverContent, new Delta().insert('xy\n'));
  connection.stop();
});

test('4401 refreshes the access token once, then signs out', async () => {
  const { connection, fatal } = start();
  await until(() => FakeWebSocket.instances.length === 1, 'a socket');
  lastSocket().open();
  lastSocket().drop(4401);
  await until(() => FakeWebSocket.instances.length === 2, 'a reconnect');
  assert.deepEqual(refreshes, ['refresh-0']);
  lastSocket().open();
  assert.equal(lastSocket().sent[0].token, 'access-1');
  assert.deepEqual(JSON.parse(localStorage.getItem('editor.session')),
                   { access_token: 'access-1', refresh_token: 'refresh-1' });
  lastSocket().drop(4401);
  await until(() => fatal.length === 1, 'the failure');
  assert.equal(fatal[0].reason, 'signed_out');
  assert.equal(connection.state, 'closed');
});

test('a refused refresh token signs out', async () => {
  localStorage.setItem('editor.session', JSON.stringify({ access_token: 'a', refresh_token: 'refresh-bad' }));
  const { fatal } = start();
  await until(() => FakeWebSocket.instances.length === 1, 'a socket');
  lastSocket().open();
  lastSocket().drop(4401);
  await until(() => fatal.length === 1, 'the failure');
  assert.equal(fatal[0].reason, 'signed_out');
  assert.equal(localStorage.getItem('editor.session'), null);
});

test('4404 ends the session without retrying', async () => {
  const { connection, fatal } = start();
  await until(() => FakeWebSocket.instances.length === 1, 'a socket');
  const ws = lastSocket();
  ws.open();
  ws.deliver({ type: 'error', code: 'not_found', message: 'no such document' });
  ws.drop(4404);
  assert.deepEqual(fatal, [{ reason: 'not_found', message: 'no such document' }]);
  assert.equal(connection.state, 'closed');
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(FakeWebSocket.instances.length, 1);
});

test('an invalid_op reloads at once with a fresh snapshot', async () => {
  const { machine, connection, events } = start();
  await until(() => FakeWebSocket.instances.length === 1, 'a socket');
  let ws = lastSocket();
  ws.open();
  ws.deliver(welcome());
  machine.edit(ins(0, 'bad'));
  connection.flush();
  ws.deliver({ type: 'error', code: 'invalid_op', message: 'no', seq: 1 });
  await until(() => FakeWebSocket.instances.length === 2, 'a reconnect');
  ws = lastSocket();
  ws.open();
  assert.equal(ws.sent[0].version, null);
  ws.deliver(welcome({ version: 3, head: 3, snapshot: [{ insert: 'fresh\n' }] }));
  const load = events.filter((e) => e.type === 'load').at(-1);
  assert.deepEqual(load.content, new Delta().insert('fresh\n'));
  assert.deepEqual(load.dropped, ins(0, 'bad'));
  assert.equal(machine.unsent, 0);
  assert.equal(machine.nextSeq, 2); // seq keeps growing across connections
  connection.stop();
});
