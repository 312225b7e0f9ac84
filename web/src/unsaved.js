// What the connection indicator says about edits the server has not acknowledged yet, in
// words a person understands: keystrokes are grouped into "changes" (a burst of typing
// ends after a pause), so typing a sentence offline is one unsaved change, not thirty.
// Pure: the page feeds it edits and the machine's count of unacknowledged edits.

export const CHANGE_PAUSE_MS = 2000;

export function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Local edits grouped into changes, oldest first; acknowledged edits leave oldest first. */
export class UnsavedChanges {
  constructor(pauseMs = CHANGE_PAUSE_MS) {
    this.pauseMs = pauseMs;
    this.editsPerChange = [];
    this.lastEditAt = -Infinity;
  }

  /** One local edit at `nowMs`. */
  edited(nowMs) {
    const last = this.editsPerChange.length - 1;
    if (last >= 0 && nowMs - this.lastEditAt < this.pauseMs) this.editsPerChange[last] += 1;
    else this.editsPerChange.push(1);
    this.lastEditAt = nowMs;
  }

  /** The machine now holds `unsentEdits` unacknowledged edits: forget the acknowledged. */
  settle(unsentEdits) {
    if (unsentEdits === 0) {
      this.editsPerChange = [];
      return;
    }
    let acknowledged = this.edits - unsentEdits;
    while (acknowledged > 0 && this.editsPerChange.length > 0) {
      const taken = Math.min(acknowledged, this.editsPerChange[0]);
      this.editsPerChange[0] -= taken;
      acknowledged -= taken;
      if (this.editsPerChange[0] === 0) this.editsPerChange.shift();
    }
  }

  get edits() {
    return this.editsPerChange.reduce((sum, n) => sum + n, 0);
  }

  /** Changes not yet saved: at least 1 while any edit is unsent. */
  count(unsentEdits) {
    return unsentEdits > 0 ? Math.max(1, this.editsPerChange.length) : 0;
  }
}

/** The indicator's text for a connection state and the unsaved changes. */
export function statusText({ state, unsavedChanges, retryInS = 0 }) {
  const unsaved = plural(unsavedChanges, 'unsaved change');
  const retry = retryInS > 0 ? ` · retrying in ${retryInS} s` : '';
  switch (state) {
    case 'connected': return unsavedChanges ? 'Saving…' : 'All changes saved';
    case 'connecting': return 'Connecting…';
    case 'reconnecting': return unsavedChanges ? `Reconnecting… · ${unsaved}` : 'Reconnecting…';
    case 'offline': return unsavedChanges ? `Offline · ${unsaved}${retry}` : `Offline${retry}`;
    default: return unsavedChanges ? `Disconnected · ${unsaved}` : 'Disconnected';
  }
}
