import assert from 'node:assert/strict';
import test from 'node:test';
import {
  AUTHOR_PAUSE_MS, DELETED, INSERTED, LONG_PAUSE_MS, MAX_SPAN_MS, groupChanges, highlightChanges,
  sizeLabel, timeLabel,
} from '../src/history-groups.js';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const op = (version, user, atMs, delta = [{ insert: 'x' }]) => ({
  type: 'op', version, user_id: user, delta, client_id: `c-${user}`, seq: version + 1,
  ...(atMs === undefined ? {} : { at: new Date(atMs).toISOString() }),
});

test('keystrokes of one author make one entry, with its time span', () => {
  const frames = Array.from({ length: 30 }, (_, i) => op(i, 'ann', T0 + i * 300));
  const [group] = groupChanges(frames);
  assert.equal(groupChanges(frames).length, 1);
  assert.deepEqual([group.from, group.to, group.authors, group.added], [0, 30, ['ann'], 30]);
  assert.equal(group.startMs, T0);
  assert.equal(group.endMs, T0 + 29 * 300);
});

test('people typing at once share one entry; taking turns after a pause splits', () => {
  const together = [op(0, 'ann', T0), op(1, 'bob', T0 + 200), op(2, 'ann', T0 + 400),
                    op(3, 'bob', T0 + 600)];
  assert.deepEqual(groupChanges(together).map((g) => g.authors), [['ann', 'bob']]);
  const turns = [op(0, 'ann', T0), op(1, 'ann', T0 + 1000),
                 op(2, 'bob', T0 + 1000 + AUTHOR_PAUSE_MS)];
  assert.deepEqual(groupChanges(turns).map((g) => [g.authors, g.from, g.to]),
                   [[['bob'], 2, 3], [['ann'], 0, 2]]); // newest first
  // the same author after that pause keeps going in the same entry
  const same = [op(0, 'ann', T0), op(1, 'ann', T0 + AUTHOR_PAUSE_MS * 2)];
  assert.equal(groupChanges(same).length, 1);
});

test('a long pause or a long session starts a new entry', () => {
  assert.equal(groupChanges([op(0, 'ann', T0), op(1, 'ann', T0 + LONG_PAUSE_MS)]).length, 2);
  const steady = Array.from({ length: 40 }, (_, i) => op(i, 'ann', T0 + i * 60_000));
  const groups = groupChanges(steady);
  assert.ok(groups.length >= 2);
  for (const g of groups) assert.ok(g.endMs - g.startMs < MAX_SPAN_MS);
});

test('without times, entries split where the author changes', () => {
  const frames = [op(0, 'ann'), op(1, 'ann'), op(2, 'bob'), op(3, 'ann')];
  assert.deepEqual(groupChanges(frames).map((g) => [g.authors, g.from, g.to]),
                   [[['ann'], 3, 4], [['bob'], 2, 3], [['ann'], 0, 2]]);
});

test('sizes and time labels', () => {
  const [group] = groupChanges([op(0, 'ann', T0, [{ insert: 'abc' }]),
                                op(1, 'ann', T0, [{ delete: 2 }]),
                                op(2, 'ann', T0, [{ retain: 1, attributes: { bold: true } }])]);
  assert.equal(sizeLabel(group), '+3 −2 formatting');
  const now = T0 + 3600_000;
  assert.match(timeLabel(T0, T0, now), /^Today, \d{1,2}:\d\d[^–]*$/);
  assert.match(timeLabel(T0, T0 + 600_000, now), /^Today, \d{1,2}:\d\d.*–\d{1,2}:\d\d/);
  assert.match(timeLabel(T0, T0, T0 + 86_400_000), /^Yesterday, /);
  assert.equal(timeLabel(null, null, now), '');
});

test('the preview marks inserted, deleted and reformatted text', () => {
  const before = [{ insert: 'Hello old world\n' }];
  const after = [{ insert: 'Hello ' }, { insert: 'new', attributes: { bold: true } },
                 { insert: ' world\n' }];
  const { content, inserted, deleted } = highlightChanges(before, after);
  assert.equal(inserted, 3);
  assert.equal(deleted, 3);
  assert.equal(content.map((o) => o.insert).join(''), 'Hello newold world\n');
  const [added, removed] = [content.find((o) => o.insert === 'new'),
                            content.find((o) => o.insert === 'old')];
  assert.deepEqual(added.attributes, { bold: true, ...INSERTED });
  assert.deepEqual(removed.attributes, DELETED);
  const unchanged = highlightChanges(before, before);
  assert.deepEqual([unchanged.inserted, unchanged.deleted], [0, 0]);
  assert.deepEqual(unchanged.content, before);
});
