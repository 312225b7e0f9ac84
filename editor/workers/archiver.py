"""The archiver (``storage-group``): snapshots of changed documents into the archive.

From ``collaboration-events`` it learns which documents changed and how far. It writes
``snapshots/{doc_id}/{version}.json`` (PROTOCOL.md §5) when a document's head passes a
multiple of ``every_ops`` (also one whose event it never saw: the first time it meets a
document it asks the archive which multiples below the head it lacks), and at the head when
the document has been idle ``idle_s`` after its last event; the content is the store's
(nearest snapshot plus op log replay).
After each write it publishes ``snapshot.archived``. The archive is not in the store's
transaction, so the event goes straight to the stream, with an id derived from the key:
a write redone after a crash repeats the same event. Offsets are committed only after the
write that covers them; while the store, the archive or the stream is down the consume
loop backs off and the same writes are tried again.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from prometheus_client import Counter

from editor import logs
from editor.archive import Archive, ArchiveUnavailable, snapshot_body, snapshot_key
from editor.engine.replay import content_at
from editor.events import shapes
from editor.events.base import Delivery, EventSink
from editor.events.shapes import COLLABORATION_EVENTS, STORAGE_GROUP
from editor.store.protocols import OpLog
from editor.workers.loop import OffsetBook, op_committed_fields

log = logs.get(__name__)

ARCHIVE_WRITES = Counter("editor_archive_writes_total", "Snapshots written to the archive")
ARCHIVE_FAILURES = Counter(
    "editor_archive_failures_total", "Snapshot writes the archive refused (retried later)")
# snapshot.archived ids derive from the key: a redone write repeats the same event.
_ARCHIVED_NAMESPACE = uuid.UUID("3b0f3c4e-2f55-4a47-9a59-0d7f1d6b9e21")


@dataclass
class _ChangedDocument:
    """What the events said about one document since its last archive."""

    last_event_s: float
    head: int = 0  # the highest version an event reached
    archived: int = -1  # the version of this process's last write …
    announced: int = -1  # … and of its last snapshot.archived
    due: set[int] = field(default_factory=set)  # multiples of every_ops passed
    # Whether the archive was asked what it already holds: events this process never saw
    # (delivered before it started, or skipped by a broker that lost its log) leave no
    # multiple unwritten.
    checked: bool = False


class Archiver:
    """The storage worker's logic; run it with ``loop.run_worker``."""

    group = STORAGE_GROUP
    topics: tuple[str, ...] = (COLLABORATION_EVENTS,)

    def __init__(self, oplog: OpLog, archive: Archive, sink: EventSink, *, every_ops: int,
                 idle_s: float, max_waiting_events: int = 100_000,
                 wall_clock: Callable[[], float] = time.time) -> None:
        if every_ops < 1 or idle_s <= 0 or max_waiting_events < 1:
            raise ValueError("every_ops, idle_s and max_waiting_events must be positive")
        self._oplog = oplog
        self._archive = archive
        self._sink = sink
        self._every_ops = every_ops
        self._idle_s = idle_s
        self._max_waiting = max_waiting_events
        self._wall_clock = wall_clock
        self._changed: dict[str, _ChangedDocument] = {}
        self.book = OffsetBook()

    def take(self, deliveries: Sequence[Delivery], now_s: float) -> None:
        """Note each ``op.committed``: the head it reached, and a multiple it passed."""
        for delivery in deliveries:
            fields = op_committed_fields(delivery)
            if fields is None:
                self.book.take(delivery)
                continue
            doc_id, version, _ = fields
            changed = self._changed.setdefault(doc_id, _ChangedDocument(now_s))
            changed.last_event_s = now_s
            # Every multiple passed since the last event seen (before the first one, the
            # archive says what is missing: ``_catch_up``).
            after = changed.head if changed.head else version
            changed.due.update(self._multiples(after, version + 1))
            changed.head = max(changed.head, version + 1)
            self.book.take(delivery, doc_id, version)

    def seconds_until_due(self, now_s: float) -> float:
        """0 with a multiple to write; else until the next document goes idle."""
        due_s = math.inf
        for changed in self._changed.values():
            if changed.due or not changed.checked:
                return 0.0
            due_s = min(due_s, changed.last_event_s + self._idle_s - now_s)
        return max(0.0, due_s)

    async def work(self, now_s: float) -> None:
        """Write the passed multiples, and the heads of idle documents."""
        for doc_id in list(self._changed):
            changed = self._changed[doc_id]
            if not changed.checked:
                await self._catch_up(doc_id, changed)
            for version in sorted(changed.due):
                await self._write(doc_id, changed, version)
                changed.due.discard(version)
            if now_s - changed.last_event_s >= self._idle_s:
                await self._write_head_and_forget(doc_id, changed)
        forced: set[str] = set()
        while self.book.size > self._max_waiting:
            oldest = self.book.oldest_waiting()
            if oldest is None or oldest in forced or oldest not in self._changed:
                break
            doc_id = oldest
            # Too many offsets wait on idle documents: write this one's head now.
            forced.add(doc_id)
            await self._write_head_and_forget(doc_id, self._changed[doc_id])

    def _multiples(self, after: int, up_to: int) -> range:
        """The multiples of ``every_ops`` in (``after``, ``up_to``]."""
        n = self._every_ops
        return range((after // n + 1) * n, up_to + 1, n)

    async def _catch_up(self, doc_id: str, changed: _ChangedDocument) -> None:
        """Due as well: the multiples up to the head that the archive does not hold."""
        try:
            keys = await self._archive.list(f"snapshots/{doc_id}/")
        except ArchiveUnavailable:
            ARCHIVE_FAILURES.inc()
            raise
        held = {int(key.rsplit("/", 1)[1].removesuffix(".json")) for key in keys}
        changed.due.update(v for v in self._multiples(0, changed.head) if v not in held)
        changed.checked = True

    async def _write_head_and_forget(self, doc_id: str, changed: _ChangedDocument) -> None:
        if changed.head > changed.announced:
            await self._write(doc_id, changed, changed.head)
        del self._changed[doc_id]
        self.book.settle(doc_id)

    async def _write(self, doc_id: str, changed: _ChangedDocument, version: int) -> None:
        """Archive the content at ``version``, then announce it."""
        if version != changed.archived:
            _, content = await content_at(self._oplog, doc_id, version)
            key = snapshot_key(doc_id, version)
            now_s = self._wall_clock()
            try:
                await self._archive.put(
                    key, snapshot_body(doc_id, version, content.to_delta(), now_s))
            except ArchiveUnavailable:
                ARCHIVE_FAILURES.inc()
                raise
            ARCHIVE_WRITES.inc()
            log.info("snapshot archived", extra={"doc_id": doc_id, "version": version,
                                                 "key": key})
            changed.archived = version
        if version != changed.announced:
            key = snapshot_key(doc_id, version)
            await self._sink.publish(
                [_archived_event(doc_id, version, key, self._wall_clock())])
            changed.announced = version
        self.book.settle(doc_id, version)


def _archived_event(doc_id: str, version: int, key: str, at_s: float) -> shapes.Event:
    """``snapshot.archived`` with an id that is the same whenever ``key`` is announced."""
    event = shapes.snapshot_archived(doc_id, version, key, at_s=at_s)
    stable_id = str(uuid.uuid5(_ARCHIVED_NAMESPACE, key))
    return shapes.Event(event.topic, event.key, {**event.body, "id": stable_id})
