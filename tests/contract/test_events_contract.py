"""The event-stream contract: every backend of ``EventSink`` / ``EventSource`` passes it."""

from __future__ import annotations

import itertools
import types
from collections.abc import Sequence

import pytest
import trio

import editor.events
from editor.events import Delivery, Event, EventConsumer
from editor.events.shapes import document_changed
from tests.contract.event_backends import (  # noqa: F401 (fixtures)
    RETAINED_EVENTS,
    StreamUnderTest,
    event_stream_fixture,
    small_event_stream_fixture,
)

IO_DEADLINE_S = 10


def numbered(topic: str, key: str, number: int) -> Event:
    """An event whose key and number say where it belongs in the order."""
    event = document_changed("document.updated", key, "owner", f"title {number}", at_s=0.0)
    return Event(topic, key, {**event.body, "n": number})


def interleaved(topic: str, keys: Sequence[str], per_key: int) -> list[Event]:
    """``per_key`` events for each key, the keys taking turns."""
    return [numbered(topic, key, n) for n in range(per_key) for key in keys]


async def fetch_exactly(consumer: EventConsumer, count: int) -> list[Delivery]:
    """Fetch until ``count`` deliveries came; fail on more."""
    got: list[Delivery] = []
    with trio.fail_after(IO_DEADLINE_S):
        while len(got) < count:
            got += await consumer.fetch(count - len(got))
    assert len(got) == count
    return got


async def fetch_until_marker(stream: StreamUnderTest, consumer: EventConsumer,
                             key: str) -> list[Delivery]:
    """Publish a marker under ``key`` and fetch up to it: what came before it is returned."""
    marker = numbered(stream.topic, key, -1)
    await stream.sink.publish([marker])
    got: list[Delivery] = []
    with trio.fail_after(IO_DEADLINE_S):
        while not any(d.event.id == marker.id for d in got):
            got += await consumer.fetch(100)
    return [d for d in got if d.event.id != marker.id]


def test_all_is_complete() -> None:
    assert sorted(editor.events.__all__) == sorted(
        name for name, value in vars(editor.events).items() if not name.startswith("_")
        and name != "annotations" and not isinstance(value, types.ModuleType))
    for name in editor.events.__all__:
        assert getattr(editor.events, name) is not None


async def test_keyed_events_keep_their_order(event_stream: StreamUnderTest) -> None:
    keys = [f"doc-{i}" for i in range(10)]
    published = interleaved(event_stream.topic, keys, 5)
    with trio.fail_after(IO_DEADLINE_S):
        await event_stream.sink.publish(published[:25])
        await event_stream.sink.publish(published[25:])
    async with event_stream.source.consume(event_stream.group("g"), [event_stream.topic]) as c:
        got = await fetch_exactly(c, len(published))
    for key in keys:
        mine = [d for d in got if d.event.key == key]
        assert [d.event.body["n"] for d in mine] == list(range(5))
        assert [d.offset for d in mine] == sorted(d.offset for d in mine)
    assert sorted(d.event.id for d in got) == sorted(e.id for e in published)


async def test_a_key_always_lands_on_one_partition(event_stream: StreamUnderTest) -> None:
    keys = [f"doc-{i}" for i in range(20)]
    async with event_stream.source.consume(event_stream.group("g"), [event_stream.topic]) as c:
        partitions: dict[str, set[int]] = {}
        for _ in range(3):
            with trio.fail_after(IO_DEADLINE_S):
                await event_stream.sink.publish(interleaved(event_stream.topic, keys, 2))
            for delivery in await fetch_exactly(c, 2 * len(keys)):
                partitions.setdefault(delivery.event.key, set()).add(delivery.partition)
    assert all(len(seen) == 1 for seen in partitions.values()), partitions
    assert len(set(itertools.chain(*partitions.values()))) > 1, "every key on one partition"


async def test_committed_offsets_survive_a_reopen(event_stream: StreamUnderTest) -> None:
    group, topic = event_stream.group("g"), event_stream.topic
    first = interleaved(topic, ["a", "b", "c"], 4)
    await event_stream.sink.publish(first)
    async with event_stream.source.consume(group, [topic]) as c:
        await c.commit(await fetch_exactly(c, len(first)))
    later = interleaved(topic, ["a", "b", "c"], 2)
    await event_stream.sink.publish(later)
    async with event_stream.source.consume(group, [topic]) as c:
        again = await fetch_until_marker(event_stream, c, "a")
    assert sorted(d.event.id for d in again) == sorted(e.id for e in later)


async def test_uncommitted_deliveries_come_again_with_the_same_ids(
        event_stream: StreamUnderTest) -> None:
    group, topic = event_stream.group("g"), event_stream.topic
    published = [numbered(topic, "one-doc", n) for n in range(6)]
    await event_stream.sink.publish(published)
    async with event_stream.source.consume(group, [topic]) as c:
        got = await fetch_exactly(c, 6)
        await c.commit(got[:3])
    async with event_stream.source.consume(group, [topic]) as c:
        redelivered = await fetch_exactly(c, 3)
    assert [d.event.id for d in redelivered] == [d.event.id for d in got[3:]]
    assert [d.offset for d in redelivered] == [d.offset for d in got[3:]]
    assert [d.event.body for d in redelivered] == [e.body for e in published[3:]]


async def test_groups_are_independent(event_stream: StreamUnderTest) -> None:
    topic = event_stream.topic
    published = interleaved(topic, ["a", "b"], 3)
    await event_stream.sink.publish(published)
    async with event_stream.source.consume(event_stream.group("first"), [topic]) as c:
        await c.commit(await fetch_exactly(c, len(published)))
    async with event_stream.source.consume(event_stream.group("second"), [topic]) as c:
        got = await fetch_exactly(c, len(published))
    assert sorted(d.event.id for d in got) == sorted(e.id for e in published)


async def test_a_group_sees_only_its_topics(event_stream: StreamUnderTest) -> None:
    await event_stream.sink.publish([numbered(event_stream.other_topic, "a", 0)])
    async with event_stream.source.consume(event_stream.group("g"), [event_stream.topic]) as c:
        assert await fetch_until_marker(event_stream, c, "a") == []


async def test_two_consumers_split_the_work(event_stream: StreamUnderTest) -> None:
    group, topic = event_stream.group("g"), event_stream.topic
    published = interleaved(topic, [f"doc-{i}" for i in range(40)], 3)
    by_consumer: list[list[Delivery]] = [[], []]
    all_arrived = trio.Event()

    async def drain(consumer: EventConsumer, into: list[Delivery]) -> None:
        while True:
            into += await consumer.fetch(10)
            if sum(map(len, by_consumer)) >= len(published):
                all_arrived.set()

    async with event_stream.source.consume(group, [topic]) as first, \
            event_stream.source.consume(group, [topic]) as second:
        await event_stream.sink.publish(published)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(drain, first, by_consumer[0])
            nursery.start_soon(drain, second, by_consumer[1])
            with trio.fail_after(IO_DEADLINE_S):
                await all_arrived.wait()
            nursery.cancel_scope.cancel()
    ids = [d.event.id for got in by_consumer for d in got]
    assert sorted(ids) == sorted(e.id for e in published)
    assert by_consumer[0] and by_consumer[1]
    partitions = [{d.partition for d in got} for got in by_consumer]
    assert not partitions[0] & partitions[1]


async def test_a_leaving_consumer_hands_over_its_uncommitted_work(
        event_stream: StreamUnderTest) -> None:
    group, topic = event_stream.group("g"), event_stream.topic
    published = interleaved(topic, [f"doc-{i}" for i in range(20)], 2)
    async with event_stream.source.consume(group, [topic]) as stays:
        async with event_stream.source.consume(group, [topic]) as leaves:
            await event_stream.sink.publish(published)
            with trio.fail_after(IO_DEADLINE_S):
                left_with = await leaves.fetch(len(published))
        assert left_with
        got = await fetch_until_marker(event_stream, stays, "doc-0")
    assert {e.id for e in published} <= {d.event.id for d in got}


async def test_fetch_waits_for_an_event(event_stream: StreamUnderTest,
                                        autojump_clock: trio.abc.Clock) -> None:
    fetched: list[Delivery] = []
    async with event_stream.source.consume(event_stream.group("g"), [event_stream.topic]) as c:

        async def fetch() -> None:
            fetched.extend(await c.fetch(10))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(fetch)
            await trio.sleep(30)
            assert fetched == []
            await event_stream.sink.publish([numbered(event_stream.topic, "a", 0)])
    assert [d.event.body["n"] for d in fetched] == [0]


async def test_fetch_can_be_cancelled(event_stream: StreamUnderTest,
                                      autojump_clock: trio.abc.Clock) -> None:
    async with event_stream.source.consume(event_stream.group("g"), [event_stream.topic]) as c:
        with trio.move_on_after(5) as waited:
            await c.fetch(1)
        assert waited.cancelled_caught
        await event_stream.sink.publish([numbered(event_stream.topic, "a", 0)])
        assert len(await fetch_exactly(c, 1)) == 1


@pytest.mark.parametrize("max_events", [0, -1])
async def test_fetch_refuses_a_non_positive_batch(event_stream: StreamUnderTest,
                                                  max_events: int) -> None:
    async with event_stream.source.consume(event_stream.group("g"), [event_stream.topic]) as c:
        with pytest.raises(ValueError):
            await c.fetch(max_events)


async def test_retention_is_bounded(small_event_stream: StreamUnderTest) -> None:
    stream, group = small_event_stream, small_event_stream.group("g")
    await stream.sink.publish([numbered(stream.topic, "one-doc", n) for n in range(5)])
    async with stream.source.consume(group, [stream.topic]) as c:
        await c.commit(await fetch_exactly(c, 5))
    total = 5 + 3 * RETAINED_EVENTS
    await stream.sink.publish([numbered(stream.topic, "one-doc", n) for n in range(5, total)])
    async with stream.source.consume(group, [stream.topic]) as c:
        got = await fetch_exactly(c, RETAINED_EVENTS)
    # The consumer fell behind: it skips what is gone and reads the newest, in order.
    assert [d.event.body["n"] for d in got] == list(range(total - RETAINED_EVENTS, total))
    assert [d.offset for d in got] == list(range(total - RETAINED_EVENTS, total))
