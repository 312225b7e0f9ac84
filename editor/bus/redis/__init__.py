"""The shared bus seam on Redis (one node or a Redis Cluster): bus, presence, cache, limits.

redis.asyncio is an asyncio library: it runs on a trio-asyncio loop opened with the backends
and closed after them, and is touched only inside this package. Redis is not needed for
correctness: the backends open while it is down, degrade while it is (``editor_redis_up``
says which path is active) and come back by themselves.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import trio

from editor import aio
from editor.bus.redis.bus import RedisBus
from editor.bus.redis.cache import RedisSnapshotCache
from editor.bus.redis.connection import Link
from editor.bus.redis.health import REDIS_UP, Health
from editor.bus.redis.limiter import RedisRateLimiter
from editor.bus.redis.presence import RedisPresence
from editor.bus.redis.url import check_redis_url, parse_redis_url, redact

BUS_QUEUE_MESSAGES = 1024


@dataclass(frozen=True)
class RedisBackends:
    """The four bus-seam interfaces on one Redis connection."""

    bus: RedisBus
    presence: RedisPresence
    cache: RedisSnapshotCache
    limiter: RedisRateLimiter


@asynccontextmanager
async def opened_redis(url: str, *, origin: str, queue_size: int = BUS_QUEUE_MESSAGES,
                       clock: Callable[[], float] | None = None
                       ) -> AsyncIterator[RedisBackends]:
    """The backends on ``url`` (``redis://`` or ``redis-cluster://``), closed on exit.

    ``origin`` names this process's connections; ``queue_size`` bounds each subscription;
    ``clock`` replaces the Redis server's clock in expiries and buckets (tests only).
    """
    target = parse_redis_url(url)
    client_name = "editor-" + re.sub(r"[^\w.:-]", "-", origin)
    try:
        async with aio.open_loop() as loop:
            link = await Link.open(loop, target, Health(redact(url)), client_name=client_name)
            try:
                async with trio.open_nursery() as nursery:
                    bus = RedisBus(link, queue_size=queue_size)
                    await nursery.start(bus.subscriber.run)
                    yield RedisBackends(bus, RedisPresence(link, clock=clock),
                                        RedisSnapshotCache(link, clock=clock),
                                        RedisRateLimiter(link, clock=clock))
                    nursery.cancel_scope.cancel()
            finally:
                await link.close()
    except BaseExceptionGroup as group:
        # The nurseries wrap whatever crosses them; callers get the error itself.
        sole = aio.sole_exception(group)
        if sole is None:
            raise
        raise sole from sole.__cause__


__all__ = ["REDIS_UP", "RedisBackends", "RedisBus", "RedisPresence", "RedisRateLimiter",
           "RedisSnapshotCache", "check_redis_url", "opened_redis"]
