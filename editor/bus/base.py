"""The bus seam: live fan-out between replicas, presence, snapshot cache and rate-limit buckets.

Each interface has an embedded implementation (``editor.bus.memory``) and, in a distributed
deployment, a shared one (Redis). Both pass the contract suite in ``tests/contract``.

The bus is a hint, never the source of truth: pub/sub is at-most-once, so a consumer that sees a
version gap in ``OpsMessage``s reads the missing ops from the op log (DESIGN.md, step 5).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol, TypeAlias

import trio

from editor.store.records import CommittedOp, Snapshot


class BusUnavailable(Exception):
    """The shared bus cannot be reached: callers degrade (poll the op log, skip the cache)."""


@dataclass(frozen=True)
class OpsMessage:
    """Committed ops of one document, at consecutive versions, oldest first."""

    origin: str  # the publishing process's id: a replica ignores its own messages
    doc_id: str
    ops: tuple[CommittedOp, ...]

    def __post_init__(self) -> None:
        # A malformed batch would make every consumer's gap detection lie; refuse it at the source.
        if not self.ops:
            raise ValueError("an OpsMessage carries at least one op")
        first = self.ops[0].version
        for offset, op in enumerate(self.ops):
            if op.doc_id != self.doc_id:
                raise ValueError(f"op of document {op.doc_id!r} in a message of {self.doc_id!r}")
            if op.version != first + offset:
                raise ValueError(f"op versions are not consecutive at version {op.version}")

    @property
    def first_version(self) -> int:
        """The version the first op applies to."""
        return self.ops[0].version

    @property
    def next_version(self) -> int:
        """The document's version after the last op."""
        return self.ops[-1].version + 1


@dataclass(frozen=True)
class CursorMessage:
    """A client's selection at a version of a document; ``index`` None means no selection."""

    origin: str
    doc_id: str
    client_id: str
    user: dict[str, str]  # {"id": …, "name": …}
    version: int
    index: int | None
    length: int


@dataclass(frozen=True)
class LeaveMessage:
    """A client left a document: others drop its cursor."""

    origin: str
    doc_id: str
    client_id: str


BusMessage: TypeAlias = OpsMessage | CursorMessage | LeaveMessage


@dataclass(frozen=True)
class PresenceEntry:
    """One client's presence on a document, as listed to newcomers."""

    client_id: str
    user: dict[str, str]  # {"id": …, "name": …}
    index: int | None
    length: int
    version: int


class Bus(Protocol):
    """Per-document pub/sub channels: at-most-once, never blocking the publisher."""

    async def publish(self, message: BusMessage) -> None:
        """Send ``message`` to the current subscribers of its document, at most once each."""

    def subscribe(
        self, doc_id: str
    ) -> AbstractAsyncContextManager[trio.MemoryReceiveChannel[BusMessage]]:
        """Receive the document's messages published (by anyone) after entering, until exit.

        The channel holds at most the bus's queue size; a subscriber that falls behind loses
        messages rather than slowing the publisher, so it must detect version gaps.
        """


class Presence(Protocol):
    """Who is on a document, with a time to live refreshed by each cursor update."""

    async def put(self, doc_id: str, entry: PresenceEntry, ttl_s: float) -> None:
        """Insert or refresh ``entry``; it expires ``ttl_s`` seconds from now."""

    async def remove(self, doc_id: str, client_id: str) -> None:
        """Forget the client's entry (no error if there is none)."""

    async def list(self, doc_id: str) -> list[PresenceEntry]:
        """The document's unexpired entries, ordered by ``client_id``."""


class SnapshotCache(Protocol):
    """Recent snapshots by document; a miss or a stale hit is only slower, never wrong."""

    async def get(self, doc_id: str) -> Snapshot | None:
        """The cached snapshot, or None when absent or expired."""

    async def put(self, doc_id: str, snapshot: Snapshot, ttl_s: float) -> None:
        """Cache ``snapshot`` for ``ttl_s`` seconds unless a newer version is cached."""

    async def invalidate(self, doc_id: str) -> None:
        """Drop the document's cached snapshot."""


class RateLimiter(Protocol):
    """Token buckets by key: full to start, refilled continuously, capped at ``burst``."""

    async def take(self, key: str, rate_per_s: float, burst: float, cost: float = 1.0
                   ) -> float:
        """0.0 when ``cost`` tokens were taken, else the seconds until they are available
        (none taken). ``cost`` is at most ``burst``: more could never be taken."""


def check_bucket(rate_per_s: float, burst: float, cost: float) -> None:
    """Raise ``ValueError`` for a bucket that could never give ``cost`` tokens."""
    if not rate_per_s > 0:
        raise ValueError(f"rate_per_s must be positive, not {rate_per_s!r}")
    if not burst >= 1:
        raise ValueError(f"burst must be at least 1 token, not {burst!r}")
    if not 0 < cost <= burst:
        raise ValueError(f"cost must be above 0 and at most the burst {burst!r}, not {cost!r}")


@dataclass(frozen=True)
class SharedBus:
    """The bus and presence that every replica shares, and this process's name on them."""

    bus: Bus
    presence: Presence
    origin: str
