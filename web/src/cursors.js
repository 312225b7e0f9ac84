// Remote cursors and selections drawn with quill-cursors: a caret, a highlighted
// selection and a name flag in the user's colour. A user's colour comes from their id, so
// it is usually the same on every screen; when two users on one page would share a colour,
// the later one gets the next free colour instead, so people on a page are told apart.

import QuillCursors from 'quill-cursors/core';

export { QuillCursors };

const PALETTE = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#008080',
                 '#f032e6', '#9a6324', '#800000', '#469990', '#000075', '#d81b60'];
const assigned = new Map(); // user id -> colour, for this page

/** A colour for a user id: stable on this page, distinct while the palette lasts. */
export function colorFor(userId) {
  const key = String(userId);
  if (assigned.has(key)) return assigned.get(key);
  let hash = 0;
  for (const char of key) hash = (Math.imul(hash, 31) + char.codePointAt(0)) >>> 0;
  const used = new Set(assigned.values());
  let colour = PALETTE[hash % PALETTE.length];
  for (let step = 1; used.has(colour) && step < PALETTE.length; step += 1) {
    colour = PALETTE[(hash + step) % PALETTE.length];
  }
  assigned.set(key, colour);
  return colour;
}

export class CursorLayer {
  constructor(quill) {
    this.module = quill.getModule('cursors');
    this.quill = quill;
    this.shown = new Map(); // client_id -> 'index:length'
  }

  /** Draw exactly these cursors (local coordinates); index null hides a cursor. */
  render(cursors) {
    const seen = new Set();
    const length = this.quill.getLength();
    for (const cursor of cursors) {
      if (cursor.index === null) continue;
      seen.add(cursor.client_id);
      const index = Math.min(cursor.index, length - 1);
      const range = { index, length: Math.min(cursor.length, length - 1 - index) };
      const key = `${range.index}:${range.length}`;
      if (!this.shown.has(cursor.client_id)) {
        this.module.createCursor(cursor.client_id, cursor.user?.name || 'Someone',
                                 colorFor(cursor.user?.id ?? cursor.client_id));
      }
      if (this.shown.get(cursor.client_id) !== key) {
        this.module.moveCursor(cursor.client_id, range);
        this.shown.set(cursor.client_id, key);
      }
    }
    // text may have moved under cursors whose indices did not change: redraw them all
    this.module.update();
    for (const clientId of [...this.shown.keys()]) {
      if (!seen.has(clientId)) {
        this.module.removeCursor(clientId);
        this.shown.delete(clientId);
      }
    }
  }

  clear() {
    this.module.clearCursors();
    this.shown.clear();
  }
}
