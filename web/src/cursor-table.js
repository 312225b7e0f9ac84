// Remote cursors kept in server coordinates and rebased as versions go by. No I/O.
//
// A `cursor` frame is tagged with the version its position refers to. A cursor at the
// client's version is current; one tagged older is rebased through the recent committed
// ops (a bounded window); one tagged newer (possible while catching up after a resume)
// waits until the client reaches its version. Same rules as editor/client/cursors.py.

import { rebaseSelection } from './ot-client.js';

export class CursorTable {
  constructor({ maxCursors = 1000, historyOps = 1000 } = {}) {
    this.maxCursors = maxCursors;
    this.historyOps = historyOps;
    this.cursors = new Map(); // client_id -> {client_id, user, version, index, length}
    this.history = []; // the last committed deltas, oldest first
    this.historyEnd = 0; // the version after the last delta in `history`
  }

  /** Forget every cursor and the op window (a new session starts at `version`). */
  reset(version) {
    this.cursors.clear();
    this.history = [];
    this.historyEnd = version;
  }

  /** The op `version -> version + 1` was applied: move current cursors with it. */
  committed(version, delta) {
    if (this.historyEnd !== version) this.history = [];
    this.history.push(delta);
    if (this.history.length > this.historyOps) this.history.shift();
    this.historyEnd = version + 1;
    for (const [clientId, frame] of this.cursors) {
      if (frame.version === version) {
        const moved = rebaseSelection(delta, frame.index, frame.length);
        this.cursors.set(clientId, { ...frame, version: version + 1, ...moved });
      }
    }
  }

  /** Store a cursor frame received at client `version`; false if it was dropped. */
  update(frame, version) {
    let stored = { client_id: frame.client_id, user: frame.user, version: frame.version,
                   index: frame.index ?? null, length: frame.length ?? 0 };
    if (stored.version < version) {
      const missing = version - stored.version;
      if (this.historyEnd !== version || missing > this.history.length) {
        this.cursors.delete(stored.client_id);
        return false;
      }
      let { index, length } = stored;
      for (const delta of this.history.slice(this.history.length - missing)) {
        ({ index, length } = rebaseSelection(delta, index, length));
      }
      stored = { ...stored, version, index, length };
    }
    if (!this.cursors.has(stored.client_id) && this.cursors.size >= this.maxCursors) return false;
    this.cursors.set(stored.client_id, stored);
    return true;
  }

  /** Forget a cursor; true if there was one. */
  remove(clientId) {
    return this.cursors.delete(clientId);
  }

  /** One cursor, if it refers to `version`. */
  get(clientId, version) {
    const frame = this.cursors.get(clientId);
    return frame !== undefined && frame.version === version ? frame : null;
  }

  /** The cursors whose positions refer to `version`. */
  current(version) {
    return [...this.cursors.values()].filter((frame) => frame.version === version);
  }
}
