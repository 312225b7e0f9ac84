// The client side of a document session as an I/O-free state machine, across connections.
//
// The network shell (connection.js) feeds it decoded frames and close codes and sends what
// `outgoing()` returns; every protocol decision is made here (same rules as
// editor/client/machine.py):
//
// - the version invariant (PROTOCOL.md §2, guarantee 1): an `op`/`ack` below our version
//   is a duplicate and ignored, one above it is a gap and asks for a resync;
// - an `op` frame carrying our client_id and the pending seq is the ack;
// - after a resume the pending op is (re)sent only once caught up to `welcome.head`;
// - op errors: `forbidden`/`too_large` revert the local edits, `invalid_op`/`bad_version`
//   reload, anything else about our op resyncs;
// - close codes: never retry 4400/4401/4403/4404 (nor 1000: our client_id was taken
//   over), reload after 4409/1009, else resync with backoff.

import Delta from 'quill-delta';
import { CursorTable } from './cursor-table.js';
import {
  SYNCHRONIZED, applyClient, applyServer, baseLength, isNoop, rebaseSelection, serverAck,
  toLocal, toServer, unacknowledged, unsentEdits,
} from './ot-client.js';

export const CLOSE = Object.freeze({
  NORMAL: 1000, GOING_AWAY: 1001, TOO_BIG: 1009, INTERNAL: 1011, RESTART: 1012,
  BAD_REQUEST: 4400, UNAUTHORIZED: 4401, REVOKED: 4403, NOT_FOUND: 4404,
  HELLO_TIMEOUT: 4408, BAD_VERSION: 4409, RATE_LIMITED: 4429,
});

const FATAL_CLOSES = new Map([
  [CLOSE.NORMAL, 'replaced'],
  [CLOSE.BAD_REQUEST, 'bad_request'],
  [CLOSE.REVOKED, 'forbidden'],
  [CLOSE.NOT_FOUND, 'not_found'],
]);

/** What to do after the server closed the connection: {kind: reload|resync|fatal|unauthorized}. */
export function classifyClose(code, reason, lastError) {
  const message = lastError?.message || reason || `closed with ${code}`;
  if (code === CLOSE.UNAUTHORIZED) return { kind: 'unauthorized', reason: 'unauthorized', message };
  if (FATAL_CLOSES.has(code)) return { kind: 'fatal', reason: FATAL_CLOSES.get(code), message, code };
  if (code === CLOSE.BAD_VERSION) return { kind: 'reload', reason: 'bad_version' };
  if (code === CLOSE.TOO_BIG) return { kind: 'reload', reason: 'too_big' };
  return { kind: 'resync', reason: `closed with ${code}` };
}

/** A client_id: 1–64 chars of [A-Za-z0-9_-], fresh for every editor instance. */
export function newClientId() {
  const bytes = new Uint8Array(12);
  globalThis.crypto.getRandomValues(bytes);
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

function reaction(events = [], action = null) {
  return { events, action };
}

export class SessionMachine {
  constructor(clientId = newClientId(), { maxCursors = 1000, historyOps = 1000 } = {}) {
    this.clientId = clientId;
    this.nextSeq = 1;
    this.version = 0;
    this.loaded = false;
    this.ot = SYNCHRONIZED;
    this.serverContent = new Delta([{ insert: '\n' }]);
    this.localLength = 1;
    this.cursors = new CursorTable({ maxCursors, historyOps });
    this.peers = new Map(); // client_id -> user: who is here (even without a selection)
    this.docId = '';
    this.role = '';
    this.user = null;
    this.connected = false;
    this.lastError = null;
    this.selection = { index: null, length: 0 }; // announced on welcome, so peers see us
    this.selectionDirty = true;
    this.catchUpTo = null;
    this.sentSeq = null;
    this.reloadReason = null;
  }

  // --- connection life ------------------------------------------------------------

  /** The first frame of the next connection: resume unless a reload is due. */
  hello(token) {
    const fresh = !this.loaded || this.reloadReason !== null;
    return { type: 'hello', token, client_id: this.clientId, version: fresh ? null : this.version };
  }

  /** Make the next connection a fresh load (local edits are dropped then). */
  requestReload(reason) {
    this.reloadReason = reason;
  }

  /** The session opened: load or check the version, start catching up. */
  welcome(frame) {
    const events = [];
    if (frame.snapshot !== null && frame.snapshot !== undefined) {
      const dropped = unacknowledged(this.ot);
      this.serverContent = new Delta(frame.snapshot);
      this.localLength = this.serverContent.length();
      this.version = frame.version;
      this.ot = SYNCHRONIZED;
      this.loaded = true;
      events.push({ type: 'load', content: this.serverContent, dropped,
                    reason: this.reloadReason ?? 'snapshot' });
      this.clampSelection();
    } else if (!this.loaded || frame.version !== this.version) {
      return this.reload('desync');
    }
    this.reloadReason = null;
    this.docId = frame.doc_id;
    this.role = frame.role;
    this.user = frame.user;
    this.connected = true;
    this.lastError = null;
    this.sentSeq = null;
    this.selectionDirty = this.selection !== null;
    this.catchUpTo = frame.head > frame.version ? frame.head : null;
    this.cursors.reset(this.version);
    this.peers.clear();
    events.push({ type: 'welcome', role: this.role, user: this.user });
    for (const peer of frame.peers ?? []) events.push(...this.cursorFrame(peer));
    return reaction(events);
  }

  /** The connection ended; nothing is sent until the next welcome. */
  disconnected() {
    this.connected = false;
  }

  /** Connected, and every op up to `welcome.head` has been received. */
  get caughtUp() {
    return this.connected && this.catchUpTo === null;
  }

  get synchronized() {
    return this.ot.kind === 'synchronized';
  }

  /** How many local edits the server has not acknowledged yet. */
  get unsent() {
    return unsentEdits(this.ot);
  }

  // --- frames from the server -----------------------------------------------------

  /** React to one server frame received after welcome. */
  handle(frame) {
    switch (frame?.type) {
      case 'op': return this.opFrame(frame);
      case 'ack': return this.ackFrame(frame);
      case 'cursor': return reaction(this.cursorFrame(frame));
      case 'leave': {
        this.cursors.remove(frame.client_id);
        this.peers.delete(frame.client_id);
        return reaction([{ type: 'peer-left', client_id: frame.client_id }]);
      }
      case 'error': return this.errorFrame(frame);
      case 'welcome': return this.reload('bad_request');
      default: return reaction();
    }
  }

  opFrame(frame) {
    const version = this.version;
    if (frame.version < version) return reaction();
    if (frame.version > version) return reaction([], { kind: 'resync', reason: 'gap' });
    if (this.ot.kind !== 'synchronized' && frame.client_id === this.clientId
        && frame.seq === this.ot.seq) {
      return this.acked(this.ot.seq);
    }
    const delta = new Delta(frame.delta);
    if (baseLength(delta) > this.serverContent.length()) return this.reload('desync');
    const { state, local } = applyServer(this.ot, delta);
    this.serverContent = this.serverContent.compose(delta);
    this.localLength += local.changeLength();
    this.ot = state;
    this.version += 1;
    this.cursors.committed(version, delta);
    if (this.hasSelection()) {
      this.selection = rebaseSelection(local, this.selection.index, this.selection.length);
    }
    this.checkCaughtUp();
    return reaction([{ type: 'remote', version, delta, local, client_id: frame.client_id,
                       user_id: frame.user_id, seq: frame.seq }]);
  }

  ackFrame(frame) {
    if (this.ot.kind === 'synchronized' || frame.seq !== this.ot.seq) {
      return reaction(); // a duplicate: the resent op had been committed before
    }
    if (frame.version > this.version) return reaction([], { kind: 'resync', reason: 'gap' });
    if (frame.version < this.version) return this.reload('desync');
    return this.acked(frame.seq);
  }

  acked(seq) {
    const version = this.version;
    const committed = this.ot.pending;
    if (baseLength(committed) > this.serverContent.length()) return this.reload('desync');
    const { state, send } = serverAck(this.ot);
    this.serverContent = this.serverContent.compose(committed);
    this.ot = state;
    this.version += 1;
    if (send !== null) this.nextSeq = send.seq + 1;
    this.cursors.committed(version, committed);
    this.checkCaughtUp();
    return reaction([{ type: 'acked', seq, version }]);
  }

  errorFrame(frame) {
    if (this.ot.kind === 'synchronized' || frame.seq !== this.ot.seq) {
      this.lastError = frame; // explains the close that usually follows
      return reaction([{ type: 'server-error', code: frame.code, message: frame.message }]);
    }
    if (frame.code === 'invalid_op' || frame.code === 'bad_version') return this.reload(frame.code);
    if (frame.code === 'forbidden' || frame.code === 'too_large') {
      const seq = this.ot.seq;
      const revert = unacknowledged(this.ot).invert(this.serverContent);
      if (this.hasSelection()) {
        this.selection = this.toServerSelection(this.selection);
      }
      this.ot = SYNCHRONIZED;
      this.localLength = this.serverContent.length();
      this.sentSeq = null;
      if (frame.code === 'forbidden') this.role = 'viewer';
      return reaction([{ type: 'rejected', seq, code: frame.code, message: frame.message,
                         revert, role: this.role }]);
    }
    return reaction([], { kind: 'resync', reason: frame.code });
  }

  reload(reason) {
    this.requestReload(reason);
    return reaction([], { kind: 'reload', reason });
  }

  checkCaughtUp() {
    if (this.catchUpTo !== null && this.version >= this.catchUpTo) this.catchUpTo = null;
  }

  // --- cursors and presence ---------------------------------------------------------

  cursorFrame(frame) {
    if (frame.client_id === this.clientId) return [];
    const events = [];
    if (!this.peers.has(frame.client_id)) {
      this.peers.set(frame.client_id, frame.user);
      events.push({ type: 'peer-joined', client_id: frame.client_id, user: frame.user });
    }
    if (!this.cursors.update(frame, this.version)) return events;
    const current = this.cursors.get(frame.client_id, this.version);
    if (current === null) return events; // tagged with a version we have not reached yet
    events.push({ type: 'cursor', ...this.toLocalCursor(current) });
    return events;
  }

  toLocalCursor(frame) {
    if (frame.index === null) {
      return { client_id: frame.client_id, user: frame.user, index: null, length: frame.length };
    }
    const start = toLocal(this.ot, frame.index);
    const end = frame.length ? toLocal(this.ot, frame.index + frame.length) : start;
    return { client_id: frame.client_id, user: frame.user, index: start,
             length: Math.max(0, end - start) };
  }

  toServerSelection({ index, length }) {
    if (index === null) return { index: null, length };
    const start = toServer(this.ot, index);
    const end = length ? toServer(this.ot, index + length) : start;
    return { index: start, length: Math.max(0, end - start) };
  }

  hasSelection() {
    return this.selection !== null && this.selection.index !== null;
  }

  clampSelection() {
    if (this.selection === null || this.selection.index === null) return;
    const last = this.localLength - 1;
    const index = Math.min(this.selection.index, last);
    this.selection = { index, length: Math.min(this.selection.length, last - index) };
  }

  /** Remote cursors at our version, rebased onto the local content. */
  remoteCursors() {
    return this.cursors.current(this.version).map((frame) => this.toLocalCursor(frame));
  }

  // --- local input -----------------------------------------------------------------

  /** A local edit (a Delta on the local content); throws and changes nothing if it does not fit. */
  edit(delta) {
    if (!this.loaded) throw new Error('edit before the document was loaded');
    if (baseLength(delta) > this.localLength) {
      throw new Error(`edit reaches past the end of the document (${this.localLength})`);
    }
    if (isNoop(delta)) return;
    const { state, send } = applyClient(this.ot, delta, this.nextSeq);
    this.ot = state;
    this.localLength += delta.changeLength();
    if (send !== null) this.nextSeq = send.seq + 1;
    if (this.hasSelection()) {
      this.selection = rebaseSelection(delta, this.selection.index, this.selection.length);
    }
  }

  /** Set our selection (local coordinates; index null = blurred); sent when allowed. */
  select(index, length) {
    if (index !== null && !(index >= 0 && index < this.localLength)) {
      throw new RangeError(`selection index ${index} is outside the document`);
    }
    const next = { index, length: Math.max(0, length || 0) };
    if (this.selection && this.selection.index === next.index
        && this.selection.length === next.length && !this.selectionDirty) {
      return;
    }
    this.selection = next;
    this.selectionDirty = true;
  }

  /** Frames to send now: the pending op once caught up, then (if asked) a changed selection. */
  outgoing({ cursor = true } = {}) {
    if (!this.caughtUp) return [];
    const frames = [];
    if (this.ot.kind !== 'synchronized' && this.ot.seq !== this.sentSeq) {
      frames.push({ type: 'op', seq: this.ot.seq, version: this.version,
                    delta: this.ot.pending.ops });
      this.sentSeq = this.ot.seq;
    }
    if (cursor && this.selectionDirty && this.selection !== null) {
      const { index, length } = this.toServerSelection(this.selection);
      frames.push({ type: 'cursor', version: this.version, index, length });
      this.selectionDirty = false;
    }
    return frames;
  }

  /** True when a changed selection waits to be sent. */
  get cursorDirty() {
    return this.selectionDirty && this.selection !== null;
  }
}
