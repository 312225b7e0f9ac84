// Random runs of several clients against a simulated server, with lost messages,
// disconnects and resumes: everyone converges on the server's content, and no edit is
// applied twice or lost. The seed is printed on failure (SEED=n to replay one run).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionMachine } from '../src/session.js';
import { SimServer, randomEdit, rng } from './sim.mjs';

class SimClient {
  constructor(id, server, random) {
    this.id = id;
    this.server = server;
    this.random = random;
    this.machine = new SessionMachine(id);
    this.content = null; // what the editor shows
    this.inbox = null; // server -> client, null while disconnected
    this.outbox = []; // client -> server, lost on disconnect
    this.typed = 0;
  }

  connect() {
    this.inbox = this.server.connect(this.id, this.machine.hello('token'));
  }

  disconnect() {
    this.server.disconnect(this.id);
    this.machine.disconnected();
    this.inbox = null;
    this.outbox = [];
  }

  flush() {
    if (this.inbox === null) return;
    this.outbox.push(...this.machine.outgoing());
  }

  type() {
    if (this.content === null) return;
    const edit = randomEdit(this.random, this.content);
    this.content = this.content.compose(edit);
    this.machine.edit(edit);
    this.typed += 1;
    const length = this.content.length();
    if (this.random() < 0.3) this.machine.select(Math.floor(this.random() * length), 0);
    this.flush();
  }

  sendOne() {
    if (this.inbox === null || this.outbox.length === 0) return;
    this.server.receive(this.id, this.outbox.shift());
  }

  receiveOne() {
    if (this.inbox === null || this.inbox.length === 0) return;
    const frame = this.inbox.shift();
    const reaction = frame.type === 'welcome' ? this.machine.welcome(frame)
      : this.machine.handle(frame);
    for (const event of reaction.events) {
      if (event.type === 'load') this.content = event.content;
      if (event.type === 'remote') this.content = this.content.compose(event.local);
      if (event.type === 'rejected') this.content = this.content.compose(event.revert);
    }
    if (reaction.action !== null) {
      this.disconnect();
      this.connect();
      return;
    }
    for (const cursor of this.machine.remoteCursors()) {
      if (cursor.index !== null) assert.ok(cursor.index < this.content.length());
    }
    this.flush();
  }
}

function run(seed, { clients = 3, steps = 400, viewer = false } = {}) {
  const random = rng(seed);
  const server = new SimServer();
  const peers = Array.from({ length: clients }, (_, i) => new SimClient(`c${i}`, server, random));
  if (viewer) {
    const original = server.connect.bind(server);
    server.connect = (id, hello) => original(id, hello, id === 'c0' ? 'viewer' : 'editor');
  }
  for (const peer of peers) peer.connect();
  for (let step = 0; step < steps; step += 1) {
    const peer = peers[Math.floor(random() * peers.length)];
    const pick = random();
    if (pick < 0.3) peer.type();
    else if (pick < 0.55) peer.sendOne();
    else if (pick < 0.95) peer.receiveOne();
    else if (peer.inbox !== null) peer.disconnect();
    else peer.connect();
  }
  for (const peer of peers) if (peer.inbox === null) peer.connect();
  for (let round = 0; round < 10000; round += 1) {
    let busy = false;
    for (const peer of peers) {
      if (peer.inbox.length || peer.outbox.length) busy = true;
      peer.receiveOne();
      peer.sendOne();
    }
    if (!busy) break;
  }
  for (const peer of peers) {
    assert.ok(peer.machine.synchronized, `${peer.id} still has unsent edits`);
    assert.deepEqual(peer.content, server.content, `${peer.id} diverged`);
    assert.deepEqual(peer.machine.serverContent, server.content);
    assert.equal(peer.machine.version, server.head);
  }
  return server;
}

const seeds = process.env.SEED ? [Number(process.env.SEED)]
  : Array.from({ length: 150 }, (_, i) => 1000 + i);

test('clients converge through lost messages, disconnects and resumes', () => {
  for (const seed of seeds) {
    try {
      const server = run(seed);
      // exactly once: no (client, seq) committed twice
      const keys = server.log.map((entry) => `${entry.client_id}/${entry.seq}`);
      assert.equal(new Set(keys).size, keys.length);
    } catch (error) {
      error.message = `seed ${seed}: ${error.message}`;
      throw error;
    }
  }
});

test('a viewer\'s edits are refused and reverted; the others converge', () => {
  for (const seed of seeds.slice(0, 40)) {
    try {
      const server = run(seed, { viewer: true });
      assert.ok(server.log.every((entry) => entry.client_id !== 'c0'));
    } catch (error) {
      error.message = `seed ${seed}: ${error.message}`;
      throw error;
    }
  }
});
