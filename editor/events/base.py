"""The event stream's seams: a sink the outbox relay publishes to, a source workers consume.

    EventsUnavailable   the stream cannot be reached; the outbox keeps the events

Every backend (in-process ``memory``, Kafka) implements both and passes the contract
suite in ``tests/contract/test_events_contract.py``. Delivery is at least once: a consumer
that stops before committing gets the same events (same ids) again.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from editor.events.shapes import Event


class EventsUnavailable(Exception):
    """The event stream cannot be reached; nothing was lost, the caller retries later."""


class EventSink(Protocol):
    """Where the outbox relay publishes."""

    async def publish(self, events: Sequence[Event]) -> None:
        """Append every event or raise; events of one key keep their order."""


@dataclass(frozen=True)
class Delivery:
    """One event as a consumer received it, with its place in the stream."""

    event: Event
    partition: int
    offset: int


class EventConsumer(Protocol):
    """One member of a consumer group, holding some of its topics' partitions."""

    async def fetch(self, max_events: int) -> list[Delivery]:
        """Wait until at least one event is available, then take up to ``max_events``."""

    async def commit(self, deliveries: Sequence[Delivery]) -> None:
        """Commit the group's offsets past ``deliveries`` (per partition, the highest + 1)."""


class EventSource(Protocol):
    """Where workers consume from."""

    def consume(self, group: str, topics: Sequence[str]
                ) -> AbstractAsyncContextManager[EventConsumer]:
        """Join ``group`` on ``topics`` for the life of the context; resume at its offsets."""
