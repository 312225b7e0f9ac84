"""The outbox relay on the real SQLite store and the in-process stream: at least once, in order.

The store runs in worker threads, which an autojump clock would take for idleness, so time
moves only when ``settle`` says: each step waits until every task has been blocked for a
few real milliseconds, then jumps the mock clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path

import prometheus_client
import pytest
import trio
import trio.testing

from editor.events import COLLABORATION_EVENTS, TOPICS, Delivery, Event, EventsUnavailable
from editor.events.memory import MemoryEventStream
from editor.events.relay import OutboxRelay
from editor.events.shapes import op_committed
from editor.store.records import CommittedOp, OutboxEntry, Unavailable
from editor.store.sqlite import SqliteStore

IDLE_CUSHION_S = 0.005  # real time every task must stay blocked before the clock moves


async def settle(clock: trio.testing.MockClock, done: Callable[[], bool], *,
                 step_s: float = 1.0, max_steps: int = 2000) -> None:
    """Run until ``done()``, moving the clock ``step_s`` whenever every task is blocked."""
    for _ in range(max_steps):
        if done():
            return
        await trio.testing.wait_all_tasks_blocked(IDLE_CUSHION_S)
        clock.jump(step_s)
    assert done(), f"not done after {max_steps} steps"


async def drained(store: SqliteStore, clock: trio.testing.MockClock) -> None:
    """Run until the store says everything is relayed: a relay marks after it publishes, so
    the stream may hold every event a moment before the marks are written."""
    for _ in range(2000):
        if not await store.outbox_size() and not await store.ops_unrelayed(10):
            return
        await trio.testing.wait_all_tasks_blocked(IDLE_CUSHION_S)
        clock.jump(1.0)
    raise AssertionError("the relay never marked everything relayed")


def outbox_pending_metric() -> float | None:
    """The exported value of ``editor_outbox_pending``."""
    return prometheus_client.REGISTRY.get_sample_value("editor_outbox_pending")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    """A fresh SQLite store."""
    with trio.fail_after(30):
        opened = await SqliteStore.open(f"sqlite:///{tmp_path}/t.db")
    yield opened
    await opened.close()


class FlakySink:
    """The in-process stream behind a switch: while ``down``, every publish fails whole."""

    def __init__(self, stream: MemoryEventStream) -> None:
        self.stream = stream
        self.down = False
        self.refused = 0

    async def publish(self, events: Sequence[Event]) -> None:
        if self.down:
            self.refused += 1
            await trio.lowlevel.checkpoint()
            raise EventsUnavailable("broker unreachable")
        await self.stream.publish(events)


class AckLosingSink:
    """Publishes, then reports failure for the first ``lost_acks`` calls (a lost ack)."""

    def __init__(self, stream: MemoryEventStream, lost_acks: int) -> None:
        self.stream = stream
        self.lost_acks = lost_acks

    async def publish(self, events: Sequence[Event]) -> None:
        await self.stream.publish(events)
        if self.lost_acks:
            self.lost_acks -= 1
            raise EventsUnavailable("no ack from the broker")


class FlakyStore:
    """The real store's outbox and op log behind a switch: while ``down``, calls fail."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.down = False

    async def _check(self) -> None:
        await trio.lowlevel.checkpoint()
        if self.down:
            raise Unavailable("database unreachable")

    async def outbox_pending(self, limit: int) -> list[OutboxEntry]:
        await self._check()
        return await self.store.outbox_pending(limit)

    async def outbox_published(self, up_to_position: int) -> None:
        await self._check()
        await self.store.outbox_published(up_to_position)

    async def outbox_size(self) -> int:
        await self._check()
        return await self.store.outbox_size()

    async def claim_relay(self, holder: str, ttl_s: float, now: float) -> bool:
        await self._check()
        return await self.store.claim_relay(holder, ttl_s, now)

    async def ops_unrelayed(self, limit: int) -> list[tuple[str, int, int]]:
        await self._check()
        return await self.store.ops_unrelayed(limit)

    async def ops_relayed(self, marks: Mapping[str, int]) -> None:
        await self._check()
        await self.store.ops_relayed(marks)

    async def read_ops(self, doc_id: str, from_version: int, to_version: int
                       ) -> list[CommittedOp]:
        await self._check()
        return await self.store.read_ops(doc_id, from_version, to_version)


async def collect(stream: MemoryEventStream, into: list[Delivery]) -> None:
    """Consume every topic as one group, forever, committing as it goes."""
    async with stream.consume("test-group", TOPICS) as consumer:
        while True:
            deliveries = await consumer.fetch(1000)
            into.extend(deliveries)
            await consumer.commit(deliveries)


async def make_docs(store: SqliteStore, count: int) -> list[str]:
    """Documents with a little history each: created, renamed, shared (all in the outbox)."""
    owner = await store.create_user("owner@example.com", "Owner", "hash")
    guest = await store.create_user("guest@example.com", "Guest", "hash")
    docs = [(await store.create_document(owner.id, f"doc {n}", [{"insert": "\n"}])).id
            for n in range(count)]
    for doc_id in docs:
        await store.set_title(doc_id, "renamed")
    for doc_id in docs:
        await store.set_member(doc_id, guest.id, "editor")
        await store.set_member(doc_id, guest.id, "viewer")
    return docs


async def append_ops(store: SqliteStore, doc_id: str, count: int) -> None:
    """Commit ``count`` ops at the head of ``doc_id``, a few per append."""
    head = await store.head(doc_id)
    ops = [CommittedOp(doc_id, version, [{"insert": f"{version}"}], "u1", "c1", version + 1,
                       1_800_000_000.0 + version) for version in range(head, head + count)]
    for start in range(0, count, 100):
        await store.append(doc_id, ops[start:start + 100])


def ids_by_key(events: Sequence[Event]) -> dict[str, list[str]]:
    """Each key's event ids, in the given order, first appearances only."""
    by_key: dict[str, list[str]] = {}
    for event in events:
        if event.id not in by_key.setdefault(event.key, []):
            by_key[event.key].append(event.id)
    return by_key


async def test_outbox_events_reach_the_stream_in_commit_order_per_key(
        store: SqliteStore, mock_clock: trio.testing.MockClock, nursery: trio.Nursery) -> None:
    await make_docs(store, 3)
    pending = await store.outbox_pending(1000)
    stream, received = MemoryEventStream(), list[Delivery]()
    nursery.start_soon(collect, stream, received)
    await nursery.start(OutboxRelay(store, stream, batch_events=4).run)
    await settle(mock_clock, lambda: len(received) >= len(pending))
    expected = ids_by_key([Event(e.topic, e.key, e.body) for e in pending])
    assert ids_by_key([d.event for d in received]) == expected
    assert len(received) == len(pending)
    await drained(store, mock_clock)
    await settle(mock_clock, lambda: outbox_pending_metric() == 0)


async def test_an_outage_of_the_stream_loses_nothing(
        store: SqliteStore, mock_clock: trio.testing.MockClock, nursery: trio.Nursery) -> None:
    stream, received = MemoryEventStream(), list[Delivery]()
    sink = FlakySink(stream)
    sink.down = True
    nursery.start_soon(collect, stream, received)
    await nursery.start(OutboxRelay(store, sink, max_backoff_s=30).run)
    docs = await make_docs(store, 2)
    await append_ops(store, docs[0], 250)
    pending = await store.outbox_pending(1000)
    await settle(mock_clock, lambda: sink.refused >= 8, step_s=5)
    assert received == []
    assert await store.outbox_size() == len(pending)
    assert await store.ops_unrelayed(10) == [(docs[0], 0, 250)]
    assert outbox_pending_metric() == len(pending) + 250  # the op log is the ops' outbox
    sink.down = False
    await settle(mock_clock, lambda: len(received) >= len(pending) + 250)
    outbox_ids = {e.body["id"] for e in pending}
    assert sorted(d.event.id for d in received if d.event.id in outbox_ids) == sorted(outbox_ids)
    versions = [d.event.body["version"] for d in received if d.event.topic == COLLABORATION_EVENTS]
    assert versions == list(range(250))
    await drained(store, mock_clock)


async def test_an_outage_of_the_store_loses_nothing(
        store: SqliteStore, mock_clock: trio.testing.MockClock, nursery: trio.Nursery) -> None:
    docs = await make_docs(store, 1)
    flaky = FlakyStore(store)
    flaky.down = True
    stream, received = MemoryEventStream(), list[Delivery]()
    nursery.start_soon(collect, stream, received)
    relay = OutboxRelay(flaky, stream)
    await nursery.start(relay.run)
    await append_ops(store, docs[0], 10)
    pending = await store.outbox_pending(1000)
    mock_clock.jump(300)
    await trio.testing.wait_all_tasks_blocked(IDLE_CUSHION_S)
    assert received == []
    flaky.down = False
    await settle(mock_clock, lambda: len(received) >= len(pending) + 10)
    assert [d.event.body["version"] for d in received
            if d.event.topic == COLLABORATION_EVENTS] == list(range(10))


async def test_every_version_appears_in_order_with_a_stable_id(
        store: SqliteStore, mock_clock: trio.testing.MockClock, nursery: trio.Nursery) -> None:
    docs = await make_docs(store, 2)
    await append_ops(store, docs[0], 1200)
    await append_ops(store, docs[1], 3)
    stream, received = MemoryEventStream(), list[Delivery]()
    # The first publishes reach the stream but their acks are lost: they come again.
    sink = AckLosingSink(stream, lost_acks=3)
    nursery.start_soon(collect, stream, received)
    await nursery.start(OutboxRelay(store, sink, batch_events=500).run)
    await settle(mock_clock, lambda: (ops_seen(received, docs[0]), ops_seen(received, docs[1]))
                 == (1200, 3))
    assert sink.lost_acks == 0
    for doc_id, head in ((docs[0], 1200), (docs[1], 3)):
        ops = [d.event for d in received
               if d.event.topic == COLLABORATION_EVENTS and d.event.key == doc_id]
        first_seen: list[int] = []
        for event in ops:
            if event.body["version"] not in first_seen:
                first_seen.append(event.body["version"])
        assert first_seen == list(range(head))
        stored = await store.read_ops(doc_id, 0, head)
        expected = {op.version: op_committed(op.doc_id, op.version, op.user_id, op.client_id,
                                             op.seq, op.delta, at_s=op.created_at)
                    for op in stored}
        for event in ops:
            assert event.body == expected[event.body["version"]].body
    assert len(received) > len({d.event.id for d in received}), "no redelivery was provoked"


def ops_seen(received: list[Delivery], doc_id: str) -> int:
    """How many distinct versions of ``doc_id`` arrived."""
    return len({d.event.body["version"] for d in received
                if d.event.topic == COLLABORATION_EVENTS and d.event.key == doc_id})


async def test_wake_starts_a_pass_at_once(
        store: SqliteStore, mock_clock: trio.testing.MockClock, nursery: trio.Nursery) -> None:
    docs = await make_docs(store, 1)
    stream, received = MemoryEventStream(), list[Delivery]()
    nursery.start_soon(collect, stream, received)
    relay = OutboxRelay(store, stream, idle_poll_s=3600)
    await nursery.start(relay.run)
    await settle(mock_clock, lambda: bool(received), step_s=0)
    started_at = trio.current_time()
    await append_ops(store, docs[0], 5)
    relay.wake()
    await settle(mock_clock, lambda: ops_seen(received, docs[0]) == 5, step_s=0)
    assert trio.current_time() == started_at


@pytest.mark.parametrize("bad", [{"batch_events": 0}, {"idle_poll_s": 0},
                                 {"max_backoff_s": -1}])
async def test_nonsense_settings_are_refused(store: SqliteStore, bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        OutboxRelay(store, MemoryEventStream(), **bad)  # type: ignore[arg-type]


async def test_of_two_relays_on_one_store_one_drains(
        store: SqliteStore, mock_clock: trio.testing.MockClock, nursery: trio.Nursery) -> None:
    docs = await make_docs(store, 1)
    stream, received = MemoryEventStream(), list[Delivery]()
    nursery.start_soon(collect, stream, received)
    for holder in ("first", "second"):
        await nursery.start(OutboxRelay(store, stream, holder=holder).run)
    await append_ops(store, docs[0], 20)
    pending = await store.outbox_pending(1000)
    await settle(mock_clock, lambda: len(received) >= len(pending) + 20)
    await drained(store, mock_clock)
    mock_clock.jump(5)  # more passes: nothing is published again
    await trio.testing.wait_all_tasks_blocked(IDLE_CUSHION_S)
    ids = [d.event.id for d in received]
    assert len(ids) == len(set(ids)) == len(pending) + 20  # nothing published twice
