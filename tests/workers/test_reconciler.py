"""The reconciler on the SQLite store: version order, gaps, cadence, idle, divergence, restart."""

from __future__ import annotations

import logging
import random

import pytest
import trio
import trio.testing

from editor.bus import MemorySnapshotCache
from editor.events import COLLABORATION_EVENTS, RECONCILIATION_GROUP, Event
from editor.events.memory import MemoryEventStream
from editor.events.relay import OutboxRelay
from editor.events.shapes import document_changed
from editor.store.records import Snapshot
from editor.store.sqlite import SqliteStore
from editor.workers.loop import run_worker
from editor.workers.reconciler import Reconciler
from tests.workers.support import (
    Deliveries,
    commit,
    content_after,
    event_of,
    metric,
    new_document,
    settle,
)

IDLE_S = 30.0
GAP_WAIT_S = 1.0


def reconciler(store: SqliteStore, cache: MemorySnapshotCache, every: int) -> Reconciler:
    return Reconciler(store, cache, snapshot_every_ops=every, idle_s=IDLE_S,
                      gap_wait_s=GAP_WAIT_S)


async def snapshot_versions(store: SqliteStore, doc_id: str, head: int) -> list[int]:
    """The versions that have a snapshot, found by asking at every version."""
    return sorted({(await store.latest_snapshot(doc_id, at_most=v)).version
                   for v in range(head + 1)})


async def test_out_of_order_and_repeated_events_are_folded_in_version_order(
        store: SqliteStore, cache: MemorySnapshotCache) -> None:
    divergences = metric("editor_reconciler_divergence_total")
    doc_id = await new_document(store)
    ops = await commit(store, doc_id, 10)
    seed = random.randrange(2**32)
    shuffled = [event_of(op) for op in ops] + [event_of(op) for op in ops[:4]]
    random.Random(seed).shuffle(shuffled)
    worker = reconciler(store, cache, every=5)
    deliver = Deliveries()
    # Three fetches: whatever arrives early waits for the versions before it.
    for part in (shuffled[:5], shuffled[5:9], shuffled[9:]):
        worker.take(deliver(part), 0.0)
        await worker.work(0.0)
    assert await snapshot_versions(store, doc_id, 10) == [0, 5, 10], f"seed {seed}"
    for version in (5, 10):
        snapshot = await store.latest_snapshot(doc_id, at_most=version)
        assert snapshot.content == content_after(version), f"seed {seed}"
    assert metric("editor_reconciler_divergence_total") == divergences
    # Every offset is covered by a snapshot: all of them may be committed.
    assert [d.offset for d in worker.book.committable()] == [deliver.offset - 1]


async def test_a_gap_the_stream_does_not_fill_is_read_from_the_op_log(
        store: SqliteStore, cache: MemorySnapshotCache) -> None:
    divergences = metric("editor_reconciler_divergence_total")
    doc_id = await new_document(store, "base")
    ops = await commit(store, doc_id, 6)
    worker = reconciler(store, cache, every=6)
    deliver = Deliveries()
    worker.take(deliver([event_of(ops[0]), event_of(ops[1]), event_of(ops[4])]), 0.0)
    await worker.work(0.0)
    # Versions 2 and 3 may still come: the reconciler waits a little for them.
    assert worker.seconds_until_due(0.0) == GAP_WAIT_S
    worker.take(deliver([event_of(ops[5])]), 0.5)
    await worker.work(0.5)
    assert await snapshot_versions(store, doc_id, 6) == [0]
    await worker.work(GAP_WAIT_S)
    assert await snapshot_versions(store, doc_id, 6) == [0, 6]
    assert (await store.latest_snapshot(doc_id)).content == content_after(6, "base")
    assert metric("editor_reconciler_divergence_total") == divergences


async def test_snapshots_every_n_versions_then_when_idle_and_offsets_wait_for_them(
        store: SqliteStore, cache: MemorySnapshotCache) -> None:
    doc_id = await new_document(store)
    ops = await commit(store, doc_id, 8)
    await cache.put(doc_id, Snapshot(0, [{"insert": "\n"}]), ttl_s=3600)
    worker = reconciler(store, cache, every=3)
    deliver = Deliveries()
    unrelated = document_changed("document.updated", doc_id, "u", "t", at_s=0)
    worker.take(deliver([unrelated, *map(event_of, ops)]), 0.0)
    await worker.work(0.0)
    assert await snapshot_versions(store, doc_id, 8) == [0, 3, 6]
    assert await cache.get(doc_id) is None
    # Versions 6 and 7 wait for the next snapshot (the other topic has its own offsets).
    assert [d.offset for d in worker.book.committable()] == [0, 6]
    assert worker.seconds_until_due(10.0) == IDLE_S - 10.0
    await worker.work(IDLE_S - 1)
    assert await snapshot_versions(store, doc_id, 8) == [0, 3, 6]
    await worker.work(IDLE_S)
    assert await snapshot_versions(store, doc_id, 8) == [0, 3, 6, 8]
    assert (await store.latest_snapshot(doc_id)).content == content_after(8)
    assert [d.offset for d in worker.book.committable()] == [0, 8]
    # An idle document leaves memory; its next event starts from the store again.
    assert worker.seconds_until_due(IDLE_S) == float("inf")
    more = await commit(store, doc_id, 1)
    worker.take(deliver([event_of(more[0])]), 100.0)
    await worker.work(100.0 + IDLE_S)
    assert (await store.latest_snapshot(doc_id)).version == 9
    assert (await store.latest_snapshot(doc_id)).content == content_after(9)


async def test_a_corrupt_snapshot_is_a_divergence_and_the_op_log_decides(
        store: SqliteStore, cache: MemorySnapshotCache, caplog: pytest.LogCaptureFixture
        ) -> None:
    doc_id = await new_document(store)
    ops = await commit(store, doc_id, 10)
    await store.save_snapshot(doc_id, Snapshot(5, [{"insert": "tampered\n"}]))
    before = metric("editor_reconciler_divergence_total")
    worker = reconciler(store, cache, every=10)
    with caplog.at_level(logging.ERROR):
        worker.take(Deliveries()(list(map(event_of, ops))), 0.0)
        await worker.work(0.0)
    assert metric("editor_reconciler_divergence_total") == before + 1
    record = next(r for r in caplog.records if "divergence" in r.getMessage())
    assert record.levelno == logging.ERROR
    assert (record.doc_id, record.version) == (doc_id, 10)  # type: ignore[attr-defined]
    assert record.store_matches_op_log is False  # type: ignore[attr-defined]
    assert record.events_match_op_log is True  # type: ignore[attr-defined]
    # The new snapshot holds what the op log says, not what the tampered one implied.
    assert (await store.latest_snapshot(doc_id)).content == content_after(10)


async def test_a_restart_resumes_from_committed_offsets(
        store: SqliteStore, cache: MemorySnapshotCache, stream: MemoryEventStream,
        mock_clock: trio.testing.MockClock) -> None:
    divergences = metric("editor_reconciler_divergence_total")
    doc_id = await new_document(store)
    await commit(store, doc_id, 10)
    relay = OutboxRelay(store, stream)
    await relay.relay_pending()
    partition = stream.partition_of(doc_id)
    committed = lambda: stream.committed(RECONCILIATION_GROUP).get(  # noqa: E731
        (COLLABORATION_EVENTS, partition), 0)
    async with trio.open_nursery() as nursery:
        await nursery.start(run_worker, reconciler(store, cache, every=4), stream)
        await settle(mock_clock, lambda: committed() == 8, step_s=0.1)
        # Killed with versions 8 and 9 folded but not snapshotted: they stay uncommitted.
        mock_clock.jump(1)
        await trio.testing.wait_all_tasks_blocked(0.01)
        assert committed() == 8
        nursery.cancel_scope.cancel()
    assert await snapshot_versions(store, doc_id, 10) == [0, 4, 8]
    await commit(store, doc_id, 2)
    await relay.relay_pending()
    async with trio.open_nursery() as nursery:
        await nursery.start(run_worker, reconciler(store, cache, every=4), stream)
        await settle(mock_clock, lambda: committed() == 12, step_s=5)
        nursery.cancel_scope.cancel()
    assert await snapshot_versions(store, doc_id, 12) == [0, 4, 8, 12]
    assert (await store.latest_snapshot(doc_id)).content == content_after(12)
    assert metric("editor_reconciler_divergence_total") == divergences


async def test_a_malformed_event_is_skipped_not_retried(
        store: SqliteStore, cache: MemorySnapshotCache, caplog: pytest.LogCaptureFixture
        ) -> None:
    doc_id = await new_document(store)
    ops = await commit(store, doc_id, 2)
    good = [event_of(op) for op in ops]
    bad = [Event(COLLABORATION_EVENTS, doc_id, {**good[0].body, "version": "zero"}),
           Event(COLLABORATION_EVENTS, "../x", {**good[0].body, "doc_id": "../x"})]
    worker = reconciler(store, cache, every=2)
    deliver = Deliveries()
    with caplog.at_level(logging.ERROR):
        worker.take(deliver([bad[0], *good, bad[1]]), 0.0)
        await worker.work(0.0)
    assert sum("malformed" in r.getMessage() for r in caplog.records) == 2
    assert (await store.latest_snapshot(doc_id)).content == content_after(2)
    assert [d.offset for d in worker.book.committable()] == [3]
