"""The reconciler (``reconciliation-group``): snapshots from ``collaboration-events``, checked.

For each document it folds the ``op.committed`` deltas in version order: early events wait
in a buffer, and a gap that the stream does not fill within ``gap_wait_s`` is read from the
op log (the source of truth). Every ``snapshot_every_ops`` versions, and when a document
has been idle ``idle_s`` after its last event, it compares the fold with what the store
answers for that version (its nearest snapshot plus the op log replayed): a difference is a
divergence, counted and logged, and the op log replayed from version 0 decides the content
of the snapshot it then saves. Saving an existing snapshot again is a no-op, so redoing
work after a crash is harmless; offsets are committed once the snapshot covering them is
saved (``OffsetBook``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter

from editor import logs, ot
from editor.bus import BusUnavailable, SnapshotCache
from editor.engine.replay import content_at
from editor.events.base import Delivery
from editor.events.shapes import COLLABORATION_EVENTS, RECONCILIATION_GROUP
from editor.store.protocols import OpLog
from editor.store.records import Snapshot, Unavailable
from editor.workers.loop import OffsetBook, op_committed_fields

log = logs.get(__name__)

DIVERGENCES = Counter(
    "editor_reconciler_divergence_total",
    "Snapshots where the store's snapshot plus op log replay differed from the events' content")
SNAPSHOTS = Counter("editor_reconciler_snapshots_total", "Snapshots the reconciler saved")
_REPLAY_PAGE_OPS = 1000


@dataclass
class _DocumentFold:
    """One document as the events built it; ``content`` is at ``version`` once loaded."""

    last_event_s: float
    version: int = -1  # -1: not loaded yet
    content: ot.Document | None = None
    snapshot_version: int = -1
    snapshot_due: bool = False
    early: dict[int, Any] = field(default_factory=dict)  # version → delta
    gap_since_s: float | None = None

    @property
    def loaded(self) -> bool:
        return self.content is not None


class Reconciler:
    """The reconciliation worker's logic; run it with ``loop.run_worker``."""

    group = RECONCILIATION_GROUP
    topics: tuple[str, ...] = (COLLABORATION_EVENTS,)

    def __init__(self, oplog: OpLog, cache: SnapshotCache, *, snapshot_every_ops: int,
                 idle_s: float, gap_wait_s: float = 1.0, max_waiting_events: int = 100_000
                 ) -> None:
        if snapshot_every_ops < 1 or idle_s <= 0 or gap_wait_s < 0 or max_waiting_events < 1:
            raise ValueError("snapshot_every_ops, idle_s and max_waiting_events must be"
                             " positive, gap_wait_s not negative")
        self._oplog = oplog
        self._cache = cache
        self._every_ops = snapshot_every_ops
        self._idle_s = idle_s
        self._gap_wait_s = gap_wait_s
        self._max_waiting = max_waiting_events
        self._folds: dict[str, _DocumentFold] = {}
        self._unprocessed = False
        self.book = OffsetBook()

    def take(self, deliveries: Sequence[Delivery], now_s: float) -> None:
        """Buffer each ``op.committed`` by document and version; skip anything else."""
        for delivery in deliveries:
            fields = op_committed_fields(delivery)
            if fields is None:
                self.book.take(delivery)
                continue
            doc_id, version, delta = fields
            fold = self._folds.setdefault(doc_id, _DocumentFold(now_s))
            if fold.loaded and version < fold.version:
                self.book.take(delivery)  # a re-delivery of what the fold holds already
                continue
            fold.early.setdefault(version, delta)
            fold.last_event_s = now_s
            self.book.take(delivery, doc_id, version)
            self._unprocessed = True

    def seconds_until_due(self, now_s: float) -> float:
        """0 with events to fold; else the nearest timer (a gap's wait, an idle document)."""
        if self._unprocessed:
            return 0.0
        due_s = math.inf
        for fold in self._folds.values():
            if fold.snapshot_due:
                return 0.0
            if fold.gap_since_s is not None:
                due_s = min(due_s, fold.gap_since_s + self._gap_wait_s - now_s)
            elif not fold.early:
                due_s = min(due_s, fold.last_event_s + self._idle_s - now_s)
        return max(0.0, due_s)

    async def work(self, now_s: float) -> None:
        """Fold what arrived, fill gaps that waited long enough, snapshot what is due."""
        for doc_id in list(self._folds):
            await self._advance(doc_id, self._folds[doc_id], now_s)
        self._unprocessed = False
        forced: set[str] = set()
        while self.book.size > self._max_waiting:
            oldest = self.book.oldest_waiting()
            if oldest is None or oldest in forced or oldest not in self._folds:
                break
            doc_id = oldest
            # Too many offsets wait on snapshots: this document's is taken now, and a gap it
            # waits on is read from the op log at once.
            forced.add(doc_id)
            fold = self._folds[doc_id]
            if fold.early and not fold.loaded:
                await self._load(doc_id, fold, min(fold.early))
            if fold.early:
                await self._fill_gap(doc_id, fold, max(fold.early) + 1)
                fold.early.clear()
            await self._snapshot_and_forget(doc_id, fold)

    async def _advance(self, doc_id: str, fold: _DocumentFold, now_s: float) -> None:
        if fold.snapshot_due:
            await self._snapshot(doc_id, fold)
        if fold.early and not fold.loaded:
            await self._load(doc_id, fold, min(fold.early))
        while fold.early:
            assert fold.content is not None
            delta = fold.early.pop(fold.version, None)
            if delta is not None:
                fold.gap_since_s = None
                await self._apply(doc_id, fold, delta)
                continue
            first_early = min(fold.early)
            if first_early < fold.version:
                del fold.early[first_early]
                self.book.settle(doc_id, fold.snapshot_version)
                continue
            if fold.gap_since_s is None:
                fold.gap_since_s = now_s
            if now_s - fold.gap_since_s < self._gap_wait_s:
                return
            await self._fill_gap(doc_id, fold, first_early)
        if fold.loaded and now_s - fold.last_event_s >= self._idle_s:
            await self._snapshot_and_forget(doc_id, fold)

    async def _load(self, doc_id: str, fold: _DocumentFold, version: int) -> None:
        """Start the fold at ``version`` from the store (nearest snapshot plus replay)."""
        _, content = await content_at(self._oplog, doc_id, version)
        fold.version = fold.snapshot_version = version
        fold.content = content

    async def _apply(self, doc_id: str, fold: _DocumentFold, delta: Any) -> None:
        assert fold.content is not None
        try:
            fold.content = fold.content.apply(delta)
        except (ValueError, TypeError) as exc:  # ot.InvalidOp is a ValueError
            # The event's delta does not apply: the op log decides.
            DIVERGENCES.inc()
            log.error("event does not apply to the reconciled content", extra={
                "doc_id": doc_id, "version": fold.version, "error": str(exc)})
            _, fold.content = await _replay_from_start(self._oplog, doc_id, fold.version + 1)
        fold.version += 1
        if fold.version % self._every_ops == 0:
            fold.snapshot_due = True
            await self._snapshot(doc_id, fold)

    async def _fill_gap(self, doc_id: str, fold: _DocumentFold, up_to: int) -> None:
        """Read the versions the stream skipped from the op log and fold them."""
        log.info("filling a gap from the op log", extra={
            "doc_id": doc_id, "from_version": fold.version, "to_version": up_to})
        while fold.version < up_to:
            ops = await self._oplog.read_ops(doc_id, fold.version,
                                             min(up_to, fold.version + _REPLAY_PAGE_OPS))
            if not ops or ops[0].version != fold.version:
                raise Unavailable(f"op log of {doc_id} has no op at version {fold.version}")
            for op in ops:
                if op.version != fold.version:
                    break
                await self._apply(doc_id, fold, op.delta)
        fold.gap_since_s = None

    async def _snapshot_and_forget(self, doc_id: str, fold: _DocumentFold) -> None:
        """Snapshot an idle document (if it changed) and drop it from memory."""
        if fold.loaded and fold.version > fold.snapshot_version:
            fold.snapshot_due = True
            await self._snapshot(doc_id, fold)
        if not fold.early:
            del self._folds[doc_id]
            self.book.settle(doc_id)

    async def _snapshot(self, doc_id: str, fold: _DocumentFold) -> None:
        """Check the fold against the store at its version, then save it as a snapshot."""
        assert fold.content is not None
        version = fold.version
        _, stored_content = await content_at(self._oplog, doc_id, version)
        stored = stored_content.to_delta()
        content = fold.content.to_delta()
        if stored != content:
            DIVERGENCES.inc()
            based_on = (await self._oplog.latest_snapshot(doc_id, at_most=version)).version
            _, truth = await _replay_from_start(self._oplog, doc_id, version)
            truth_delta = truth.to_delta()
            log.error("divergence between the store and the events", extra={
                "doc_id": doc_id, "version": version, "store_snapshot_version": based_on,
                "store_matches_op_log": stored == truth_delta,
                "events_match_op_log": content == truth_delta})
            fold.content, content = truth, truth_delta
        await self._oplog.save_snapshot(doc_id, Snapshot(version, content))
        try:
            await self._cache.invalidate(doc_id)
        except BusUnavailable as exc:  # a stale cache entry is only slower, never wrong
            log.warning("snapshot cache not invalidated", extra={
                "doc_id": doc_id, "error": str(exc)})
        SNAPSHOTS.inc()
        log.debug("snapshot saved", extra={"doc_id": doc_id, "version": version})
        fold.snapshot_version = version
        fold.snapshot_due = False
        self.book.settle(doc_id, version)


async def _replay_from_start(oplog: OpLog, doc_id: str, version: int
                             ) -> tuple[int, ot.Document]:
    """The content at ``version`` from the document's first snapshot and every op since:
    what the op log says, whatever later snapshots hold."""
    first = await oplog.latest_snapshot(doc_id, at_most=0)
    content = ot.Document.from_delta(first.content)
    at = first.version
    while at < version:
        ops = await oplog.read_ops(doc_id, at, min(version, at + _REPLAY_PAGE_OPS))
        if not ops or ops[0].version != at:
            raise Unavailable(f"op log of {doc_id} has no op at version {at}")
        for op in ops:
            content = content.apply(op.delta)
            at = op.version + 1
    return at, content
