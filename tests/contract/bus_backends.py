"""Fixtures that run the bus contract against every backend of the bus seam.

A backend joins by adding its name to ``BUS_BACKENDS`` and an opener to ``_OPENERS``; every
contract test then runs against it too. Test modules import the ``*_fixture`` functions, which
pytest registers under their short names (``bus``, ``presence``…): a test's ``bus`` parameter
then shadows no import.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

import pytest

from editor.bus import (
    Bus,
    MemoryBus,
    MemoryPresence,
    MemoryRateLimiter,
    MemorySnapshotCache,
    Presence,
    RateLimiter,
    SnapshotCache,
)

BUS_BACKENDS = ["memory"]
QUEUE_SIZE = 8  # each subscription's bound: the tests overflow it on purpose


@dataclass(frozen=True)
class Seams:
    """One backend's four interfaces, sharing whatever connection the backend needs."""

    bus: Bus
    presence: Presence
    cache: SnapshotCache
    limiter: RateLimiter


@asynccontextmanager
async def open_memory() -> AsyncIterator[Seams]:
    """The embedded implementations, fresh for each test."""
    yield Seams(MemoryBus(queue_size=QUEUE_SIZE), MemoryPresence(), MemorySnapshotCache(),
                MemoryRateLimiter())


_OPENERS: dict[str, Callable[[], AbstractAsyncContextManager[Seams]]] = {"memory": open_memory}


@pytest.fixture(name="seams", params=BUS_BACKENDS)
async def seams_fixture(request: pytest.FixtureRequest) -> AsyncIterator[Seams]:
    """Each backend in turn, emptied for the test."""
    async with _OPENERS[request.param]() as opened:
        yield opened


@pytest.fixture(name="bus")
def bus_fixture(seams: Seams) -> Bus:
    """The backend's bus, its subscriptions bounded at ``QUEUE_SIZE``."""
    return seams.bus


@pytest.fixture(name="presence")
def presence_fixture(seams: Seams) -> Presence:
    """The backend's presence table."""
    return seams.presence


@pytest.fixture(name="cache")
def cache_fixture(seams: Seams) -> SnapshotCache:
    """The backend's snapshot cache."""
    return seams.cache


@pytest.fixture(name="limiter")
def limiter_fixture(seams: Seams) -> RateLimiter:
    """The backend's rate limiter."""
    return seams.limiter
