"""``KafkaEventStream``: the relay's ``EventSink`` and the workers' ``EventSource`` on Kafka.

The producer waits for every in-sync replica (``acks="all"``), keys each event by its
``key`` (the default partitioner hashes a key to one partition) and sends the §5 body as
UTF-8 JSON. aiokafka keeps at most one batch in flight per partition, so a key's events
land in order; idempotence stays off (Tansu, the tests' broker, cannot do it), so a
retried send may repeat an event, which at-least-once delivery allows. A publish first
makes sure the topics exist when they were last checked more than ``TOPICS_RECHECK_S``
ago or the last publish failed: a send to a missing topic would let the broker create it
with its own defaults (or, on a broker that came back empty, lose it).

A group rebalances in the background when a member joins or leaves. When this stream
holds other members of the group, ``consume`` waits (bounded) for them to take their new
share before it returns or after the member left: within a process, a member's
partitions change hands at once, as in the embedded stream.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import trio
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from editor import logs
from editor.events.base import EventConsumer
from editor.events.kafka.client import KafkaBridge, create_missing_topics
from editor.events.kafka.consumer import KafkaGroupConsumer
from editor.events.kafka.metrics import EVENTS_PRODUCED
from editor.events.shapes import TOPICS, Event

log = logs.get(__name__)

# One metadata round trip at most this often while publishing.
TOPICS_RECHECK_S = 5.0


class KafkaEventStream:
    """Events to and from Kafka topics: publish keyed, consume in groups."""

    def __init__(self, bridge: KafkaBridge, producer: AIOKafkaProducer,
                 admin: AIOKafkaAdminClient) -> None:
        self._bridge = bridge
        self._producer = producer
        self._admin = admin
        self._topics_checked_at = trio.current_time()
        self._members: dict[str, list[KafkaGroupConsumer]] = {}

    async def publish(self, events: Sequence[Event]) -> None:
        """Append every event or raise ``EventsUnavailable``; a key's events keep their order."""
        if not events:
            await trio.lowlevel.checkpoint()
            return

        started = trio.current_time()
        check_topics = started - self._topics_checked_at > TOPICS_RECHECK_S

        async def send_all() -> None:
            if check_topics:
                await create_missing_topics(self._admin, TOPICS, self._bridge.settings)
            sent = [await self._producer.send(event.topic, event.encode(),
                                              key=event.key.encode()) for event in events]
            await asyncio.gather(*sent)

        try:
            await self._bridge.call(f"publish {len(events)} events", send_all,
                                    deadline_s=self._bridge.settings.request_timeout_s)
        except BaseException:
            self._topics_checked_at = -math.inf
            raise
        if check_topics:
            self._topics_checked_at = started
        for topic, count in Counter(event.topic for event in events).items():
            EVENTS_PRODUCED.labels(topic).inc(count)

    @asynccontextmanager
    async def consume(self, group: str, topics: Sequence[str]) -> AsyncIterator[EventConsumer]:
        """Join ``group`` on ``topics`` until the context exits; resume at committed offsets."""
        if not topics:
            raise ValueError("a consumer needs at least one topic")
        consumer = KafkaGroupConsumer(self._bridge, self._admin, group, topics)
        members = self._members.setdefault(group, [])
        try:
            others = _next_assignments(members)
            members.append(consumer)
            await consumer.open()
            await _wait_for_reassignment(group, others, self._bridge.settings.request_timeout_s)
            yield consumer
        finally:
            with trio.CancelScope(shield=True):
                members.remove(consumer)
                others = _next_assignments(members)
                await consumer.close()
                await _wait_for_reassignment(group, others,
                                             self._bridge.settings.request_timeout_s)

    async def ensure_topics(self) -> None:
        """Create the §5 topics the cluster lacks."""
        await self._bridge.call("create topics",
                                lambda: create_missing_topics(self._admin, TOPICS,
                                                              self._bridge.settings),
                                deadline_s=self._bridge.settings.request_timeout_s)


def _next_assignments(members: Sequence[KafkaGroupConsumer]) -> list[trio.Event]:
    """What to wait on for the open ``members`` to take their next share of partitions."""
    return [member.next_assignment for member in members if not member.closed]


async def _wait_for_reassignment(group: str, reassigned: Sequence[trio.Event],
                                 within_s: float) -> None:
    """Wait until every member got its new share (or left), for at most ``within_s``."""
    with trio.move_on_after(within_s) as waited:
        for event in reassigned:
            await event.wait()
    if waited.cancelled_caught:
        log.warning("group members were not reassigned in time", extra={
            "group": group, "waited_s": within_s})
