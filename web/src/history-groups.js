// The history's entries, like Google Docs' version history: committed ops grouped into
// editing sessions by pause and author, each with its time, its authors and its size; and
// the preview's highlighting of what a session changed. Pure (quill-delta only).
//
// An op joins the session before it unless
//   - LONG_PAUSE_MS passed since the previous op (anyone's), or
//   - its author is not yet in the session and AUTHOR_PAUSE_MS passed (taking turns), or
//   - the session already spans MAX_SPAN_MS (a long day of typing is several entries).
// People typing at the same time share one entry that names them all, instead of one
// entry per keystroke each. Ops without a time (`at`) split only where the author changes.

import Delta from 'quill-delta';

export const LONG_PAUSE_MS = 5 * 60_000;
export const AUTHOR_PAUSE_MS = 20_000;
export const MAX_SPAN_MS = 30 * 60_000;

export const INSERTED = { background: '#ccf3d9' };
export const DELETED = { strike: true, color: '#b42318', background: '#fde2e0' };

function changeSize(delta) {
  let added = 0;
  let removed = 0;
  let formatted = 0;
  for (const op of delta) {
    if (op.insert !== undefined) added += typeof op.insert === 'string' ? op.insert.length : 1;
    else if (op.delete !== undefined) removed += op.delete;
    else if (op.attributes) formatted += op.retain;
  }
  return { added, removed, formatted };
}

function timeOf(frame) {
  const ms = typeof frame.at === 'string' ? Date.parse(frame.at) : NaN;
  return Number.isFinite(ms) ? ms : null;
}

function startsSession(group, frame, atMs) {
  if (group === undefined || frame.version !== group.to) return true;
  if (atMs === null || group.endMs === null) return !group.authors.includes(frame.user_id)
    || group.authors.length > 1;
  const pause = atMs - group.endMs;
  if (pause >= LONG_PAUSE_MS || atMs - group.startMs >= MAX_SPAN_MS) return true;
  return !group.authors.includes(frame.user_id) && pause >= AUTHOR_PAUSE_MS;
}

/** Op frames (any order) as editing sessions, newest first. */
export function groupChanges(frames) {
  const groups = [];
  for (const frame of [...frames].sort((a, b) => a.version - b.version)) {
    const atMs = timeOf(frame);
    const size = changeSize(frame.delta ?? []);
    let group = groups[groups.length - 1];
    if (startsSession(group, frame, atMs)) {
      group = { from: frame.version, to: frame.version, startMs: atMs, endMs: atMs, authors: [],
                added: 0, removed: 0, formatted: 0 };
      groups.push(group);
    }
    group.to = frame.version + 1;
    group.endMs = atMs ?? group.endMs;
    if (!group.authors.includes(frame.user_id)) group.authors.push(frame.user_id);
    group.added += size.added;
    group.removed += size.removed;
    group.formatted += size.formatted;
  }
  return groups.reverse();
}

/** "+12 −3 · formatting" */
export function sizeLabel({ added, removed, formatted }) {
  const parts = [];
  if (added) parts.push(`+${added}`);
  if (removed) parts.push(`−${removed}`);
  if (formatted) parts.push('formatting');
  return parts.join(' ');
}

function dayLabel(date, now) {
  const day = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const days = Math.round((day(now) - day(date)) / 86_400_000);
  if (days === 0) return 'Today';
  if (days === 1) return 'Yesterday';
  const options = { day: 'numeric', month: 'short' };
  if (date.getFullYear() !== now.getFullYear()) options.year = 'numeric';
  return date.toLocaleDateString(undefined, options);
}

function clock(date) {
  return date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/** "Today, 14:32" or "Yesterday, 09:05–09:40"; '' when the times are unknown. */
export function timeLabel(startMs, endMs, nowMs = Date.now()) {
  if (startMs === null || startMs === undefined) return '';
  const start = new Date(startMs);
  const now = new Date(nowMs);
  const first = `${dayLabel(start, now)}, ${clock(start)}`;
  if (endMs === null || endMs === undefined || clock(new Date(endMs)) === clock(start)) return first;
  return `${first}–${clock(new Date(endMs))}`;
}

/**
 * The content at `after` with what changed since `before` marked: inserted text on green
 * (INSERTED), deleted text struck through in red (DELETED), reformatted text on green too.
 * Both are documents (inserts only). Returns { content, inserted, deleted } (in characters).
 */
export function highlightChanges(before, after) {
  const old = new Delta(before);
  const diff = old.diff(new Delta(after));
  const content = new Delta();
  let offset = 0;
  let inserted = 0;
  let deleted = 0;
  for (const op of diff.ops) {
    if (op.insert !== undefined) {
      content.insert(op.insert, { ...op.attributes, ...INSERTED });
      inserted += typeof op.insert === 'string' ? op.insert.length : 1;
    } else if (op.delete !== undefined) {
      for (const gone of old.slice(offset, offset + op.delete).ops) {
        // a deleted embed or line break is shown as a struck-through mark, not re-inserted
        const text = typeof gone.insert === 'string' ? gone.insert.replace(/\n/g, '¶ ') : '▫';
        content.insert(text, { ...gone.attributes, ...DELETED });
      }
      deleted += op.delete;
      offset += op.delete;
    } else {
      for (const kept of old.slice(offset, offset + op.retain).ops) {
        const attributes = op.attributes ? { ...kept.attributes, ...op.attributes, ...INSERTED }
          : kept.attributes;
        content.insert(kept.insert, attributes);
      }
      offset += op.retain;
    }
  }
  for (const kept of old.slice(offset).ops) content.insert(kept.insert, kept.attributes);
  return { content: content.ops, inserted, deleted };
}
