"""Consumer groups on Kafka across restarts, and the lag and event metrics."""

from __future__ import annotations

from collections.abc import Sequence

import trio
from prometheus_client import REGISTRY

from editor.events import COLLABORATION_EVENTS, Delivery, Event, EventConsumer
from editor.events.kafka import KafkaGroupConsumer
from editor.events.shapes import document_changed
from tests.kafka.conftest import open_stream
from tests.support.kafka import TansuBroker

IO_DEADLINE_S = 10
TOPIC = COLLABORATION_EVENTS


def numbered(key: str, n: int) -> Event:
    """An event whose key and number say where it belongs in the order."""
    event = document_changed("document.updated", key, "owner", f"title {n}", at_s=0.0)
    return Event(TOPIC, key, {**event.body, "n": n})


def interleaved(keys: Sequence[str], per_key: int) -> list[Event]:
    """``per_key`` events for each key, the keys taking turns."""
    return [numbered(key, n) for n in range(per_key) for key in keys]


async def fetch_exactly(consumer: EventConsumer, count: int) -> list[Delivery]:
    """Fetch until ``count`` deliveries came."""
    got: list[Delivery] = []
    with trio.fail_after(IO_DEADLINE_S):
        while len(got) < count:
            got += await consumer.fetch(count - len(got))
    return got


def sample(name: str, **labels: str) -> float:
    """The current value of a metric sample (0 when it has none yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def lag(group: str) -> float:
    """``editor_kafka_consumer_lag`` of ``group`` on the test topic."""
    return sample("editor_kafka_consumer_lag", group=group, topic=TOPIC)


async def test_a_restarted_consumer_resumes_at_its_committed_offsets(
        broker: TansuBroker) -> None:
    published = interleaved(["a", "b", "c"], 5)
    async with open_stream(broker.bootstrap, "before") as stream:
        await stream.publish(published)
        async with stream.consume("resume", [TOPIC]) as consumer:
            before = await fetch_exactly(consumer, len(published))
            # Per partition the events go by number, then key: n < 3 is a prefix of each.
            await consumer.commit([d for d in before if d.event.body["n"] < 3])
    uncommitted = [d for d in before if d.event.body["n"] >= 3]
    # A new process: its own loop, clients and group member.
    async with open_stream(broker.bootstrap, "after") as stream:
        async with stream.consume("resume", [TOPIC]) as consumer:
            after = await fetch_exactly(consumer, len(uncommitted))
            marker = numbered("a", 99)
            await stream.publish([marker])
            assert [d.event.id for d in await fetch_exactly(consumer, 1)] == [marker.id]
    key = lambda d: (d.partition, d.offset)  # noqa: E731
    assert sorted(after, key=key) == sorted(uncommitted, key=key)
    assert {d.event.id for d in before} == {e.id for e in published}


async def test_the_lag_gauge_counts_what_the_group_has_not_committed(
        broker: TansuBroker) -> None:
    group = "lagging"
    published = interleaved([f"doc-{i}" for i in range(5)], 2)
    async with open_stream(broker.bootstrap) as stream:
        await stream.publish(published)
        async with stream.consume(group, [TOPIC]) as consumer:
            first = await fetch_exactly(consumer, 4)
            assert lag(group) == len(published)
            await consumer.commit(first)
            covered = sum(1 + max(d.offset for d in first if d.partition == p)
                          for p in {d.partition for d in first})
            assert lag(group) == len(published) - covered
            rest = await fetch_exactly(consumer, len(published) - len(first))
            await consumer.commit(rest)
            assert lag(group) == 0
            # One event per publish: Tansu's end offsets are right for one-record batches
            # (and the fetch's high watermark is not there before a fetch).
            for n in range(3):
                await stream.publish([numbered("late", n)])
            assert isinstance(consumer, KafkaGroupConsumer)
            await consumer.refresh_lag()
            assert lag(group) == 3


async def test_events_produced_and_consumed_are_counted(broker: TansuBroker) -> None:
    group = "counted"
    produced = sample("editor_events_produced_total", topic=TOPIC)
    consumed = sample("editor_events_consumed_total", group=group, topic=TOPIC)
    published = interleaved(["a", "b"], 3)
    async with open_stream(broker.bootstrap) as stream:
        await stream.publish(published)
        async with stream.consume(group, [TOPIC]) as consumer:
            await fetch_exactly(consumer, len(published))
    assert sample("editor_events_produced_total", topic=TOPIC) == produced + len(published)
    assert sample("editor_events_consumed_total", group=group,
                  topic=TOPIC) == consumed + len(published)
