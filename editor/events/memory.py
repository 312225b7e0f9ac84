"""The embedded event stream: Kafka's model (topics, partitions, groups, offsets) in memory.

Each topic has a fixed number of partitions; a key always hashes to the same one (crc32),
so a key's events keep their order. A partition is an append-only log that keeps the
last ``max_events_per_partition`` events. A consumer group remembers its committed offset
per partition; its open consumers split the partitions round-robin, reassigned when one
joins or leaves, and a partition's new owner starts at the committed offset, so whatever
was fetched but not committed is delivered again (at least once).
"""

from __future__ import annotations

import zlib
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import trio

from editor import logs
from editor.events.base import Delivery, EventConsumer
from editor.events.shapes import Event

log = logs.get(__name__)

TopicPartition = tuple[str, int]


@dataclass
class _Log:
    """One partition: the retained events and the offset of the first of them."""

    events: deque[Event] = field(default_factory=deque)
    start_offset: int = 0

    @property
    def end_offset(self) -> int:
        return self.start_offset + len(self.events)


@dataclass
class _Group:
    committed: dict[TopicPartition, int] = field(default_factory=dict)
    members: list[_MemoryConsumer] = field(default_factory=list)


class MemoryEventStream:
    """An in-process event stream: both the relay's sink and the workers' source."""

    def __init__(self, *, partitions: int = 8, max_events_per_partition: int = 100_000) -> None:
        if partitions < 1 or max_events_per_partition < 1:
            raise ValueError("partitions and max_events_per_partition must be at least 1")
        self.partitions = partitions
        self.max_events_per_partition = max_events_per_partition
        self._logs: dict[TopicPartition, _Log] = {}
        self._groups: dict[str, _Group] = {}
        self._changed = trio.Event()

    def partition_of(self, key: str) -> int:
        """The partition of ``key``: the same for the same key, in every process."""
        return zlib.crc32(key.encode()) % self.partitions

    async def publish(self, events: Sequence[Event]) -> None:
        """Append every event to its key's partition, in the given order."""
        await trio.lowlevel.checkpoint()
        for event in events:
            part = self._log((event.topic, self.partition_of(event.key)))
            part.events.append(event)
            if len(part.events) > self.max_events_per_partition:
                part.events.popleft()
                part.start_offset += 1
        if events:
            self._notify()

    @asynccontextmanager
    async def consume(self, group: str, topics: Sequence[str]) -> AsyncIterator[EventConsumer]:
        """Join ``group`` on ``topics`` until the context exits; resume at committed offsets."""
        if not topics:
            raise ValueError("a consumer needs at least one topic")
        state = self._groups.setdefault(group, _Group())
        consumer = _MemoryConsumer(self, group, frozenset(topics))
        state.members.append(consumer)
        self._rebalance(state)
        try:
            await trio.lowlevel.checkpoint()
            yield consumer
        finally:
            consumer.closed = True
            state.members.remove(consumer)
            self._rebalance(state)

    def committed(self, group: str) -> dict[TopicPartition, int]:
        """The group's committed offsets (the next offset to read), per partition."""
        state = self._groups.get(group)
        return dict(state.committed) if state else {}

    def _log(self, tp: TopicPartition) -> _Log:
        return self._logs.setdefault(tp, _Log())

    def _notify(self) -> None:
        # Waiters hold the old event; a fresh one catches the next change.
        self._changed.set()
        self._changed = trio.Event()

    def _rebalance(self, state: _Group) -> None:
        """Split each topic's partitions round-robin among the members subscribed to it."""
        owners: dict[TopicPartition, _MemoryConsumer] = {}
        for topic in sorted({t for member in state.members for t in member.topics}):
            subscribed = [m for m in state.members if topic in m.topics]
            for partition in range(self.partitions):
                owners[(topic, partition)] = subscribed[partition % len(subscribed)]
        for member in state.members:
            owned = {tp for tp, owner in owners.items() if owner is member}
            # A partition keeps its fetch position only while its owner keeps it; a new
            # owner starts at the committed offset, so uncommitted work is redone.
            member.positions = {
                tp: member.positions.get(tp, state.committed.get(tp, 0)) for tp in sorted(owned)
            }
        self._notify()

    def _read(self, consumer: _MemoryConsumer, max_events: int) -> list[Delivery]:
        deliveries: list[Delivery] = []
        assigned = list(consumer.positions)
        if not assigned:
            return deliveries
        # Start at a rotating partition so a busy one cannot starve the others.
        consumer.rotation = (consumer.rotation + 1) % len(assigned)
        for tp in assigned[consumer.rotation:] + assigned[:consumer.rotation]:
            part = self._logs.get(tp)
            if part is None:
                continue
            position = consumer.positions[tp]
            if position < part.start_offset:
                log.warning("consumer fell behind retention", extra={
                    "group": consumer.group, "topic": tp[0], "partition": tp[1],
                    "skipped_events": part.start_offset - position})
                position = part.start_offset
            while position < part.end_offset and len(deliveries) < max_events:
                event = part.events[position - part.start_offset]
                deliveries.append(Delivery(event, tp[1], position))
                position += 1
            consumer.positions[tp] = position
            if len(deliveries) >= max_events:
                break
        return deliveries

    def _commit(self, consumer: _MemoryConsumer, deliveries: Sequence[Delivery]) -> None:
        state = self._groups[consumer.group]
        next_offsets: dict[TopicPartition, int] = {}
        for delivery in deliveries:
            tp = (delivery.event.topic, delivery.partition)
            next_offsets[tp] = max(next_offsets.get(tp, 0), delivery.offset + 1)
        for tp, offset in next_offsets.items():
            if tp not in consumer.positions:
                # Its new owner starts from the last commit and redoes this work.
                log.info("commit skipped for a revoked partition", extra={
                    "group": consumer.group, "topic": tp[0], "partition": tp[1]})
                continue
            state.committed[tp] = offset


class _MemoryConsumer:
    """One consumer of a group: fetch positions of the partitions it owns."""

    def __init__(self, stream: MemoryEventStream, group: str, topics: frozenset[str]) -> None:
        self._stream = stream
        self.group = group
        self.topics = topics
        self.positions: dict[TopicPartition, int] = {}
        self.rotation = 0
        self.closed = False

    async def fetch(self, max_events: int) -> list[Delivery]:
        """Wait until at least one event is available, then take up to ``max_events``."""
        if max_events < 1:
            raise ValueError("max_events must be at least 1")
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            if self.closed:
                raise trio.ClosedResourceError("the consumer left its group")
            changed = self._stream._changed
            deliveries = self._stream._read(self, max_events)
            if deliveries:
                # Positions moved already: a cancellation here would drop the batch.
                await trio.lowlevel.cancel_shielded_checkpoint()
                return deliveries
            await changed.wait()

    async def commit(self, deliveries: Sequence[Delivery]) -> None:
        """Commit the group's offsets past ``deliveries`` (per partition, the highest + 1)."""
        if self.closed:
            raise trio.ClosedResourceError("the consumer left its group")
        await trio.lowlevel.checkpoint()
        self._stream._commit(self, deliveries)
