"""One member of a Kafka consumer group: ``EventConsumer`` on ``AIOKafkaConsumer``.

Offsets are committed only by ``commit`` (auto-commit off), so a member that stops or
crashes before committing leaves its events to be delivered again, with the same ids.
Fetched records wait in ``_undelivered`` until ``fetch`` returns them: a fetch cancelled
after aiokafka moved its positions loses nothing, the next fetch returns them. A
partition taken away by a rebalance drops its undelivered records; its new owner starts
at the committed offset.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence

import trio
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import CommitFailedError, IllegalStateError

from editor import logs
from editor.events.base import Delivery, EventsUnavailable
from editor.events.kafka.client import KAFKA_ERRORS, KafkaBridge
from editor.events.kafka.metrics import CONSUMER_LAG, EVENTS_CONSUMED
from editor.events.shapes import Event

log = logs.get(__name__)

FETCH_WAIT_MS = 5_000  # one bridged fetch waits this long for records, then asks again
LAG_REFRESH_S = 5.0  # a fetch refreshes the lag gauge at most this often


class KafkaGroupConsumer(ConsumerRebalanceListener):
    """A consumer of ``group`` on ``topics``; ``open`` joins the group, ``close`` leaves it."""

    def __init__(self, bridge: KafkaBridge, admin: AIOKafkaAdminClient, group: str,
                 topics: Sequence[str]) -> None:
        self._bridge = bridge
        self._admin = admin
        self.group = group
        self.topics = tuple(topics)
        self._consumer: AIOKafkaConsumer | None = None
        self._assigned: asyncio.Event | None = None
        self._undelivered: list[Delivery] = []
        self._lag_refreshed_at = -math.inf
        self._closed = False
        # Set at this member's next assignment of partitions, or when it leaves.
        self.next_assignment = trio.Event()

    async def open(self) -> None:
        """Join the group and wait for its first assignment of partitions."""
        await self._bridge.call(f"join {self.group}", self._open,
                                deadline_s=self._bridge.settings.join_timeout_s)

    @property
    def closed(self) -> bool:
        """Whether the member left (or is leaving) its group."""
        return self._closed

    async def close(self) -> None:
        """Leave the group (always stops the aiokafka consumer; a failure is only logged)."""
        self._closed = True
        self.next_assignment.set()
        if self._consumer is not None:
            try:
                await self._bridge.call(f"leave {self.group}", self._consumer.stop)
            except EventsUnavailable as exc:
                log.warning("kafka consumer stopped with an error", extra={
                    "group": self.group, "error": str(exc)})

    async def fetch(self, max_events: int) -> list[Delivery]:
        """Wait until at least one event is available, then take up to ``max_events``."""
        if max_events < 1:
            raise ValueError("max_events must be at least 1")
        await trio.lowlevel.checkpoint_if_cancelled()
        while not self._undelivered:
            if self._closed:
                raise trio.ClosedResourceError("the consumer left its group")
            await self._bridge.call(f"fetch for {self.group}",
                                    lambda: self._take(max_events))
        taken = self._undelivered[:max_events]
        del self._undelivered[:max_events]
        for delivery in taken:
            EVENTS_CONSUMED.labels(self.group, delivery.event.topic).inc()
        return taken

    async def commit(self, deliveries: Sequence[Delivery]) -> None:
        """Commit the group's offsets past ``deliveries`` (per partition, the highest + 1)."""
        if self._closed:
            raise trio.ClosedResourceError("the consumer left its group")
        next_offsets: dict[TopicPartition, int] = {}
        for delivery in deliveries:
            tp = TopicPartition(delivery.event.topic, delivery.partition)
            next_offsets[tp] = max(next_offsets.get(tp, 0), delivery.offset + 1)
        await self._bridge.call(f"commit for {self.group}", lambda: self._commit(next_offsets),
                                deadline_s=self._bridge.settings.request_timeout_s)

    async def refresh_lag(self) -> None:
        """Set ``editor_kafka_consumer_lag`` for the group's topics from the brokers."""
        await self._bridge.call(f"lag of {self.group}", self._refresh_lag,
                                deadline_s=self._bridge.settings.request_timeout_s)

    # The rest runs on the asyncio side, inside one bridged call each.

    async def _open(self) -> None:
        settings = self._bridge.settings
        self._assigned = asyncio.Event()
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.bootstrap_servers, client_id=settings.client_id,
            group_id=self.group, enable_auto_commit=False, auto_offset_reset="earliest",
            session_timeout_ms=settings.session_timeout_ms,
            heartbeat_interval_ms=settings.heartbeat_interval_ms,
            request_timeout_ms=settings.request_timeout_ms)
        self._consumer.subscribe(list(self.topics), listener=self)
        await self._consumer.start()
        await self._assigned.wait()

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        """Drop undelivered records of partitions this member no longer owns."""
        gone = {(tp.topic, tp.partition) for tp in revoked}
        self._undelivered = [d for d in self._undelivered
                             if (d.event.topic, d.partition) not in gone]

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        """Note that the group gave this member its share (maybe none) of the partitions."""
        assert self._assigned is not None
        self._assigned.set()
        # This runs on the trio-asyncio loop, inside Trio: a trio.Event can be set here.
        reached, self.next_assignment = self.next_assignment, trio.Event()
        reached.set()
        self._lag_refreshed_at = -math.inf

    async def _take(self, max_events: int) -> None:
        assert self._consumer is not None
        batches = await self._consumer.getmany(max_records=max_events, timeout_ms=FETCH_WAIT_MS)
        if asyncio.get_running_loop().time() - self._lag_refreshed_at >= LAG_REFRESH_S:
            await self._refresh_lag_quietly()
        for tp, records in batches.items():
            for record in records:
                key = record.key.decode() if record.key is not None else ""
                try:
                    event = Event.decode(tp.topic, key, record.value or b"")
                except ValueError:
                    log.warning("undecodable event skipped", extra={
                        "group": self.group, "topic": tp.topic, "partition": tp.partition,
                        "offset": record.offset})
                    continue
                self._undelivered.append(Delivery(event, tp.partition, record.offset))

    async def _commit(self, next_offsets: dict[TopicPartition, int]) -> None:
        assert self._consumer is not None
        owned = self._consumer.assignment()
        for tp in sorted(set(next_offsets) - owned):
            # Its new owner starts from the last commit and redoes this work.
            log.info("commit skipped for a revoked partition", extra={
                "group": self.group, "topic": tp.topic, "partition": tp.partition})
        kept = {tp: offset for tp, offset in next_offsets.items() if tp in owned}
        if kept:
            try:
                await self._consumer.commit(kept)
            except (CommitFailedError, IllegalStateError) as exc:
                # The group rebalanced meanwhile: the partitions' owners redo the work.
                log.info("commit refused after a rebalance", extra={
                    "group": self.group, "error": str(exc)})
        await self._refresh_lag_quietly()

    async def _refresh_lag_quietly(self) -> None:
        """The lag refresh of a fetch or a commit: its failure fails neither."""
        try:
            await self._refresh_lag()
        except KAFKA_ERRORS as exc:
            log.debug("consumer lag not refreshed", extra={"group": self.group, "error": str(exc)})

    async def _refresh_lag(self) -> None:
        assert self._consumer is not None
        self._lag_refreshed_at = asyncio.get_running_loop().time()
        partitions = [TopicPartition(topic, partition) for topic in self.topics
                      for partition in sorted(self._consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            return
        ends = await self._consumer.end_offsets(partitions)
        for tp in self._consumer.assignment():
            # Tansu answers ListOffsets with the last batch's base offset + 1; the high
            # watermark of the last fetch is right there, and both agree on Kafka.
            ends[tp] = max(ends.get(tp, 0), self._consumer.highwater(tp) or 0)
        committed = await self._admin.list_consumer_group_offsets(
            self.group, partitions=partitions)
        never = [tp for tp in partitions if committed.get(tp) is None
                 or committed[tp].offset < 0]
        starts = await self._consumer.beginning_offsets(never) if never else {}
        lag = dict.fromkeys(self.topics, 0)
        for tp in partitions:
            start = starts[tp] if tp in starts else committed[tp].offset
            lag[tp.topic] += max(0, ends[tp] - start)
        for topic, events in lag.items():
            CONSUMER_LAG.labels(self.group, topic).set(events)
