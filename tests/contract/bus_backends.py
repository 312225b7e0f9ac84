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
import trio
import trio.testing

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
from editor.bus.redis import opened_redis
from tests.support.redis import RedisServer, session_cluster, start_server

BUS_BACKENDS = ["memory", "redis", "redis-cluster"]
QUEUE_SIZE = 8  # each subscription's bound: the tests overflow it on purpose
# A Redis round trip is real I/O: the mock clock must not jump while one is in flight, only
# once every task has been idle this long (a test's mock sleeps then cost this in real time).
REDIS_AUTOJUMP_THRESHOLD_S = 0.2


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


@asynccontextmanager
async def open_redis_url(url: str) -> AsyncIterator[Seams]:
    """The Redis implementations on ``url``, on Trio's clock so tests can drive time."""
    clock = trio.lowlevel.current_clock()
    if isinstance(clock, trio.testing.MockClock):
        clock.autojump_threshold = REDIS_AUTOJUMP_THRESHOLD_S
    async with opened_redis(url, origin="contract", queue_size=QUEUE_SIZE,
                            clock=trio.current_time) as opened:
        yield Seams(opened.bus, opened.presence, opened.cache, opened.limiter)


@asynccontextmanager
async def open_redis_node() -> AsyncIterator[Seams]:
    """The Redis implementations on a private single server, started for the test."""
    server: RedisServer = await trio.to_thread.run_sync(start_server)
    try:
        async with open_redis_url(server.url) as opened:
            yield opened
    finally:
        await trio.to_thread.run_sync(server.stop)


@asynccontextmanager
async def open_redis_cluster(config: pytest.Config) -> AsyncIterator[Seams]:
    """The Redis implementations on the session's 6-node cluster, emptied for the test."""
    cluster = await trio.to_thread.run_sync(session_cluster, config)
    await trio.to_thread.run_sync(cluster.wait_ready)
    await trio.to_thread.run_sync(cluster.flush)
    async with open_redis_url(cluster.url) as opened:
        yield opened


_OPENERS: dict[str, Callable[[pytest.Config], AbstractAsyncContextManager[Seams]]] = {
    "memory": lambda _: open_memory(),
    "redis": lambda _: open_redis_node(),
    "redis-cluster": open_redis_cluster,
}


@pytest.fixture(name="seams", params=BUS_BACKENDS)
async def seams_fixture(request: pytest.FixtureRequest) -> AsyncIterator[Seams]:
    """Each backend in turn, emptied for the test."""
    async with _OPENERS[request.param](request.config) as opened:
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
