import assert from 'node:assert/strict';
import test from 'node:test';
import { chipLabel, initials, presenceChips } from '../src/presence.js';
import { UnsavedChanges, statusText } from '../src/unsaved.js';
import { filterAndSort } from '../src/doc-list.js';

const ann = { id: 'u1', name: 'Ann Example' };
const bob = { id: 'u2', name: 'Bob' };
const cy = { id: 'u3', name: 'Cy' };
const di = { id: 'u4', name: 'Di' };
const ed = { id: 'u5', name: 'Ed' };

test('presence: each person once, yourself first, "+N" when crowded', () => {
  const { shown, hidden } = presenceChips({ me: ann, peers: [cy, ann, bob, cy], connected: true });
  assert.deepEqual(shown.map((p) => [p.user.name, p.you, p.sessions]),
                   [['Ann Example', true, 2], ['Bob', false, 1], ['Cy', false, 2]]);
  assert.equal(hidden.length, 0);
  const crowded = presenceChips({ me: ann, peers: [ed, di, cy, bob], connected: true });
  assert.deepEqual(crowded.shown.map((p) => p.user.name), ['Ann Example', 'Bob', 'Cy']);
  assert.deepEqual(crowded.hidden.map((p) => p.user.name), ['Di', 'Ed']);
  assert.equal(chipLabel(crowded.shown[0]), 'Ann Example (you)');
  assert.equal(chipLabel(shown[2]), 'Cy · 2 tabs');
});

test('presence: offline, you are still shown and marked; the others are not', () => {
  const { shown } = presenceChips({ me: ann, peers: [bob], connected: false });
  assert.deepEqual(shown.map((p) => p.user.name), ['Ann Example']);
  assert.equal(chipLabel(shown[0]), 'Ann Example (you) · offline');
  assert.equal(initials('Ann Example'), 'AE');
  assert.equal(initials('  bob '), 'B');
  assert.equal(initials(''), '?');
});

test('unsaved changes: a burst of keystrokes is one change', () => {
  const changes = new UnsavedChanges(2000);
  for (let i = 0; i < 10; i += 1) changes.edited(1000 + i * 100);
  changes.edited(10_000);
  changes.edited(10_100);
  changes.edited(20_000);
  assert.equal(changes.count(13), 3);
  changes.settle(12); // the first edit was acknowledged: its change is still unsaved
  assert.equal(changes.count(12), 3);
  changes.settle(3); // the first change is saved
  assert.equal(changes.count(3), 2);
  changes.settle(0);
  assert.equal(changes.count(0), 0);
  assert.equal(changes.edits, 0);
});

test('status wording', () => {
  assert.equal(statusText({ state: 'connected', unsavedChanges: 0 }), 'All changes saved');
  assert.equal(statusText({ state: 'connected', unsavedChanges: 2 }), 'Saving…');
  assert.equal(statusText({ state: 'offline', unsavedChanges: 3, retryInS: 4 }),
               'Offline · 3 unsaved changes · retrying in 4 s');
  assert.equal(statusText({ state: 'reconnecting', unsavedChanges: 1 }),
               'Reconnecting… · 1 unsaved change');
  assert.equal(statusText({ state: 'closed', unsavedChanges: 0 }), 'Disconnected');
});

test('documents list: filter by title or owner and by whose, sort', () => {
  const docs = [
    { id: 'a', title: 'Budget', role: 'owner', owner: 'Me', updated_at: '2026-01-03T00:00:00Z' },
    { id: 'b', title: 'agenda', role: 'editor', owner: 'Zoë', updated_at: '2026-01-01T00:00:00Z' },
    { id: 'c', title: 'Notes', role: 'viewer', owner: 'Bob', updated_at: '2026-01-02T00:00:00Z' },
  ];
  const ids = (list) => list.map((d) => d.id);
  assert.deepEqual(ids(filterAndSort(docs, { sort: 'updated' })), ['a', 'c', 'b']);
  assert.deepEqual(ids(filterAndSort(docs, { sort: 'title' })), ['b', 'a', 'c']);
  assert.deepEqual(ids(filterAndSort(docs, { sort: 'owner' })), ['c', 'a', 'b']);
  assert.deepEqual(ids(filterAndSort(docs, { show: 'mine' })), ['a']);
  assert.deepEqual(ids(filterAndSort(docs, { show: 'shared' })), ['c', 'b']);
  assert.deepEqual(ids(filterAndSort(docs, { query: 'zo' })), ['b']);
  assert.deepEqual(ids(filterAndSort(docs, { query: 'NOT' })), ['c']);
});
