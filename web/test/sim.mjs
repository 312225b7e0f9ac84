// A simulated server and network for the client tests: the server transforms each op
// against the ops committed since its base with the committed op winning ties, dedups by
// (client_id, seq), and sends acks, ops, catch-up on resume and cursors, as PROTOCOL.md.

import Delta from 'quill-delta';

/** A seeded PRNG (mulberry32), so a failing run can be replayed from its seed. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class SimServer {
  constructor(content = new Delta([{ insert: '\n' }])) {
    this.content = content;
    this.log = []; // {delta, client_id, seq}
    this.committedSeqs = new Map(); // client_id -> Map(seq -> version)
    this.sessions = new Map(); // client_id -> {inbox: frames[], role}
    this.cursors = new Map(); // client_id -> cursor frame at head
  }

  get head() {
    return this.log.length;
  }

  connect(clientId, hello, role = 'editor') {
    const inbox = [];
    this.sessions.set(clientId, { inbox, role });
    const peers = [...this.cursors.values()].filter((c) => c.client_id !== clientId)
      .map((c) => this.cursorAtHead(c));
    if (hello.version === null) {
      inbox.push({ type: 'welcome', doc_id: 'd', version: this.head, head: this.head,
                   snapshot: this.content.ops, role, user: { id: clientId, name: clientId },
                   client_id: clientId, peers });
    } else {
      inbox.push({ type: 'welcome', doc_id: 'd', version: hello.version, head: this.head,
                   snapshot: null, role, user: { id: clientId, name: clientId },
                   client_id: clientId, peers: hello.version === this.head ? peers : [] });
      for (let v = hello.version; v < this.head; v += 1) inbox.push(this.opFrame(v));
      if (hello.version < this.head) inbox.push(...peers);
    }
    return inbox;
  }

  disconnect(clientId) {
    this.sessions.delete(clientId);
    this.cursors.delete(clientId);
    for (const session of this.sessions.values()) {
      session.inbox.push({ type: 'leave', client_id: clientId });
    }
  }

  opFrame(version) {
    const { delta, client_id, seq } = this.log[version];
    return { type: 'op', version, delta: delta.ops, client_id, user_id: client_id, seq };
  }

  cursorAtHead(cursor) {
    let { index, length } = cursor;
    if (index !== null) {
      for (let v = cursor.version; v < this.head; v += 1) {
        const end = this.log[v].delta.transformPosition(index + length);
        index = this.log[v].delta.transformPosition(index);
        length = Math.max(0, end - index);
      }
    }
    return { ...cursor, version: this.head, index, length };
  }

  receive(clientId, frame) {
    const session = this.sessions.get(clientId);
    if (session === undefined) return;
    if (frame.type === 'cursor') {
      const cursor = this.cursorAtHead({ type: 'cursor', client_id: clientId,
                                         user: { id: clientId, name: clientId },
                                         version: frame.version, index: frame.index,
                                         length: frame.length });
      this.cursors.set(clientId, cursor);
      for (const [other, s] of this.sessions) if (other !== clientId) s.inbox.push(cursor);
      return;
    }
    if (frame.type !== 'op') return;
    const seqs = this.committedSeqs.get(clientId) ?? new Map();
    this.committedSeqs.set(clientId, seqs);
    if (seqs.has(frame.seq)) {
      session.inbox.push({ type: 'ack', seq: frame.seq, version: seqs.get(frame.seq) });
      return;
    }
    if (session.role === 'viewer') {
      session.inbox.push({ type: 'error', code: 'forbidden', message: 'viewer', seq: frame.seq });
      return;
    }
    if (frame.version > this.head) throw new Error(`op version ${frame.version} above head`);
    let delta = new Delta(frame.delta);
    for (let v = frame.version; v < this.head; v += 1) {
      delta = this.log[v].delta.transform(delta, true);
    }
    const length = this.content.length();
    let base = 0;
    for (const op of delta.ops) if (op.insert === undefined) base += op.retain ?? op.delete;
    if (base > length) throw new Error(`op reaches past the end: ${base} > ${length}`);
    const version = this.head;
    this.content = this.content.compose(delta);
    this.log.push({ delta, client_id: clientId, seq: frame.seq });
    seqs.set(frame.seq, version);
    for (const [other, s] of this.sessions) {
      s.inbox.push(other === clientId ? { type: 'ack', seq: frame.seq, version }
        : this.opFrame(version));
    }
  }
}

/** A random edit of `content` (a Delta of inserts): insert, delete or format. */
export function randomEdit(random, content) {
  const length = content.length();
  const pick = random();
  const index = Math.floor(random() * length); // the final newline stays last
  const texts = ['a', 'bc', 'Zz ', '😀', '\n', 'xyz'];
  if (pick < 0.55 || length <= 1) {
    return new Delta().retain(index).insert(texts[Math.floor(random() * texts.length)],
      random() < 0.2 ? { bold: true } : undefined);
  }
  const span = Math.min(length - 1 - index, 1 + Math.floor(random() * 3));
  if (span <= 0) return new Delta().retain(index).insert('q');
  // keep surrogate pairs whole: widen the span when it would cut one
  const text = content.ops.map((op) => (typeof op.insert === 'string' ? op.insert : ' ')).join('');
  let start = index;
  let end = index + span;
  if (start > 0 && /[\uDC00-\uDFFF]/.test(text[start])) start -= 1;
  if (end < text.length && /[\uDC00-\uDFFF]/.test(text[end])) end += 1;
  if (end >= length) return new Delta().retain(index).insert('r');
  if (pick < 0.8) return new Delta().retain(start).delete(end - start);
  return new Delta().retain(start).retain(end - start, { italic: random() < 0.5 ? true : null });
}
