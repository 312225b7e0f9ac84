// Remote cursors and selections drawn with quill-cursors: a caret, a highlighted
// selection and a name flag in the user's colour. Colours come from the user id, so a
// person keeps one colour in every tab and on every screen.

import QuillCursors from 'quill-cursors/core';

export { QuillCursors };

const PALETTE = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#008080',
                 '#f032e6', '#9a6324', '#800000', '#469990', '#000075', '#d81b60'];

/** A stable colour for a user id. */
export function colorFor(userId) {
  let hash = 0;
  for (const char of String(userId)) hash = (Math.imul(hash, 31) + char.codePointAt(0)) >>> 0;
  return PALETTE[hash % PALETTE.length];
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
