// Who's here, as chips: each person once (tabs of one user merged), yourself first and
// marked, then the others by name; past `maxChips` a compact "+N" holds the rest. Pure.

export const MAX_CHIPS = 4;

/**
 * The chips to show. `me`: {id, name} or null; `peers`: iterable of {id, name} (one per
 * session); `connected`: whether the peers are current (offline, only you are shown).
 */
export function presenceChips({ me, peers, connected, maxChips = MAX_CHIPS }) {
  const people = new Map();
  if (me) people.set(me.id, { user: me, you: true, sessions: 1, offline: !connected });
  if (connected) {
    for (const user of peers) {
      if (!user) continue;
      const known = people.get(user.id);
      if (known) known.sessions += 1;
      else people.set(user.id, { user, you: false, sessions: 1, offline: false });
    }
  }
  const [you, others] = [[...people.values()].filter((p) => p.you),
                         [...people.values()].filter((p) => !p.you)];
  others.sort((a, b) => a.user.name.localeCompare(b.user.name) || a.user.id.localeCompare(b.user.id));
  const all = [...you, ...others];
  // "+N" takes a chip's place: show maxChips people, or maxChips - 1 and the "+N"
  const shown = all.length <= maxChips ? all : all.slice(0, maxChips - 1);
  return { shown, hidden: all.slice(shown.length) };
}

/** The hover text of a chip: the full name, "(you)", tabs, offline. */
export function chipLabel({ user, you, sessions, offline }) {
  let label = user.name || 'Someone';
  if (you) label += ' (you)';
  if (sessions > 1) label += ` · ${sessions} tabs`;
  if (offline) label += ' · offline';
  return label;
}

/** Up to two initials of a name ("Ada Lovelace" → "AL"). */
export function initials(name) {
  const words = String(name ?? '').trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return '?';
  const letters = words.length === 1 ? [words[0]] : [words[0], words[words.length - 1]];
  return letters.map((word) => [...word][0].toUpperCase()).join('');
}
