"""The archiver on the SQLite store: cadence, idle, snapshot.archived, outages of the archive."""

from __future__ import annotations

import json

import trio
import trio.testing

from editor.archive import ArchiveUnavailable, LocalArchive, snapshot_key
from editor.engine.replay import content_at
from editor.events import DOCUMENT_EVENTS, STORAGE_GROUP, Event
from editor.events.memory import MemoryEventStream
from editor.events.relay import OutboxRelay
from editor.store.sqlite import SqliteStore
from editor.workers.archiver import Archiver
from editor.workers.loop import run_worker
from tests.workers.support import (
    Deliveries,
    commit,
    content_after,
    event_of,
    metric,
    new_document,
    settle,
)

IDLE_S = 60.0


class ListSink:
    """Keeps what is published."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, events: list[Event]) -> None:
        await trio.lowlevel.checkpoint()
        self.events.extend(events)


class FailingArchive:
    """A ``LocalArchive`` that refuses the first ``failures`` puts, as an object store that is
    down would."""

    def __init__(self, inner: LocalArchive, failures: int) -> None:
        self.inner = inner
        self.failures = failures
        self.refused = 0

    async def put(self, key: str, data: bytes) -> None:
        await trio.lowlevel.checkpoint()
        if self.refused < self.failures:
            self.refused += 1
            raise ArchiveUnavailable("connection refused")
        await self.inner.put(key, data)

    async def get(self, key: str) -> bytes:
        return await self.inner.get(key)

    async def list(self, prefix: str) -> list[str]:
        return await self.inner.list(prefix)


async def archived(archive: LocalArchive, doc_id: str) -> dict[int, dict[str, object]]:
    """The archived snapshots of a document by version."""
    objects = {}
    for key in await archive.list(f"snapshots/{doc_id}/"):
        body = json.loads(await archive.get(key))
        assert key == snapshot_key(doc_id, body["version"])
        objects[body["version"]] = body
    return objects


async def test_multiples_of_every_ops_then_the_head_when_idle(
        store: SqliteStore, archive: LocalArchive) -> None:
    doc_id = await new_document(store)
    ops = await commit(store, doc_id, 7)
    sink = ListSink()
    worker = Archiver(store, archive, sink, every_ops=3, idle_s=IDLE_S)
    deliver = Deliveries()
    writes = metric("editor_archive_writes_total")
    worker.take(deliver([event_of(op) for op in ops + ops[:2]]), 0.0)
    await worker.work(0.0)
    assert sorted(await archived(archive, doc_id)) == [3, 6]
    # Version 6 waits for the idle write: offsets stop before it.
    assert [d.offset for d in worker.book.committable()] == [5]
    await worker.work(IDLE_S - 1)
    assert sorted(await archived(archive, doc_id)) == [3, 6]
    await worker.work(IDLE_S)
    objects = await archived(archive, doc_id)
    assert sorted(objects) == [3, 6, 7]
    for version, body in objects.items():
        assert set(body) == {"doc_id", "version", "content", "archived_at"}
        assert body["doc_id"] == doc_id
        assert body["content"] == content_after(version)
        _, content = await content_at(store, doc_id, version)
        assert body["content"] == content.to_delta()
        assert str(body["archived_at"]).endswith("Z")
    assert metric("editor_archive_writes_total") == writes + 3
    assert [d.offset for d in worker.book.committable()] == [deliver.offset - 1]
    announced = [(e.topic, e.key, e.type, e.body["version"], e.body["key"]) for e in sink.events]
    assert announced == [(DOCUMENT_EVENTS, doc_id, "snapshot.archived", v,
                          snapshot_key(doc_id, v)) for v in (3, 6, 7)]


async def test_archive_outage_is_retried_and_loses_no_snapshot(
        store: SqliteStore, archive: LocalArchive, stream: MemoryEventStream,
        mock_clock: trio.testing.MockClock) -> None:
    doc_a, doc_b = await new_document(store), await new_document(store)
    await commit(store, doc_a, 5)
    await commit(store, doc_b, 2)
    await OutboxRelay(store, stream).relay_pending()
    flaky = FailingArchive(archive, failures=4)
    failures = metric("editor_archive_failures_total")
    worker = Archiver(store, flaky, stream, every_ops=5, idle_s=IDLE_S)
    committed = lambda: sum(stream.committed(STORAGE_GROUP).values())  # noqa: E731
    received: list[Event] = []

    async def announcements() -> None:
        async with stream.consume("test-announcements", [DOCUMENT_EVENTS]) as consumer:
            while True:
                received.extend(d.event for d in await consumer.fetch(100)
                                if d.event.type == "snapshot.archived")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(announcements)
        await nursery.start(run_worker, worker, stream)
        await settle(mock_clock, lambda: flaky.refused == 4, step_s=0.5)
        assert await archived(archive, doc_a) == {}
        assert committed() == 0  # nothing written, nothing committed
        await settle(mock_clock, lambda: committed() == 7, step_s=5)
        await settle(mock_clock, lambda: len(received) >= 2)
        nursery.cancel_scope.cancel()
    assert sorted(await archived(archive, doc_a)) == [5]
    assert sorted(await archived(archive, doc_b)) == [2]
    assert metric("editor_archive_failures_total") == failures + 4
    assert sorted((e.body["doc_id"], e.body["version"]) for e in received) == sorted(
        [(doc_a, 5), (doc_b, 2)])


async def test_a_redone_write_repeats_the_same_event(
        store: SqliteStore, archive: LocalArchive) -> None:
    doc_id = await new_document(store)
    ops = await commit(store, doc_id, 2)
    sinks = [ListSink(), ListSink()]
    for sink in sinks:  # a crash before the commit: a new archiver gets the same events
        worker = Archiver(store, archive, sink, every_ops=2, idle_s=IDLE_S)
        worker.take(Deliveries()([event_of(op) for op in ops]), 0.0)
        await worker.work(0.0)
    assert sinks[0].events[0].id == sinks[1].events[0].id
    assert sorted(await archived(archive, doc_id)) == [2]


async def test_multiples_whose_events_it_never_saw_are_archived(
        store: SqliteStore, archive: LocalArchive) -> None:
    """Events skipped (a broker that lost its log, a group that resumed too far) leave no
    snapshot missing: the archive says what it lacks."""
    doc_id = await new_document(store)
    ops = await commit(store, doc_id, 7)
    worker = Archiver(store, archive, ListSink(), every_ops=2, idle_s=IDLE_S)
    worker.take(Deliveries()([event_of(op) for op in ops[:2]]), 0.0)  # versions 0 and 1
    await worker.work(0.0)
    assert sorted(await archived(archive, doc_id)) == [2]
    fresh = Archiver(store, archive, ListSink(), every_ops=2, idle_s=IDLE_S)
    fresh.take(Deliveries()([event_of(ops[6])]), 0.0)  # 2 to 5 were never delivered
    await fresh.work(0.0)
    assert sorted(await archived(archive, doc_id)) == [2, 4, 6]
