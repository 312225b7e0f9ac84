"""Redis killed (SIGKILL) mid-use and started again on the same port: degrade, then recover.

Real time, real servers; every wait is bounded by ``fail_after``.
"""

from __future__ import annotations

import logging

import pytest
import trio
from prometheus_client import REGISTRY

from editor.bus import BusMessage, BusUnavailable, LeaveMessage, PresenceEntry
from editor.bus.redis import RedisBackends, opened_redis
from editor.store.records import Snapshot
from tests.support.redis import RedisServer

RATE_PER_S = 1.0
BURST = 2.0


def redis_up() -> float | None:
    """The ``editor_redis_up`` gauge."""
    return REGISTRY.get_sample_value("editor_redis_up")


def leave(client_id: str) -> LeaveMessage:
    """A small message on document d."""
    return LeaveMessage("p1", "d", client_id)


async def wait_flowing(backends: RedisBackends,
                       channel: trio.MemoryReceiveChannel[BusMessage]) -> None:
    """Publish until a message comes back through Redis (the reader is subscribed again)."""
    attempt = 0
    while True:
        attempt += 1
        try:
            await backends.bus.publish(leave(f"probe{attempt}"))
        except BusUnavailable:
            await trio.sleep(0.05)
            continue
        with trio.move_on_after(0.5):
            while (await channel.receive()) != leave(f"probe{attempt}"):
                pass
            return


async def assert_degraded(backends: RedisBackends) -> None:
    """Bounded failures and local fallbacks, as while Redis is down."""
    with trio.fail_after(2):
        with pytest.raises(BusUnavailable):
            await backends.bus.publish(leave("c1"))
        assert await backends.cache.get("d") is None
        await backends.cache.put("d", Snapshot(1, []), 60)  # swallowed
        await backends.cache.invalidate("d")  # swallowed
        for _ in range(int(BURST)):
            assert await backends.limiter.take("k", RATE_PER_S, BURST) == 0.0
        assert await backends.limiter.take("k", RATE_PER_S, BURST) > 0.0  # local, still limits
        await backends.presence.put("d", PresenceEntry("c1", {"id": "u1", "name": "A"}, 0, 0, 1),
                                    10)
        assert [e.client_id for e in await backends.presence.list("d")] == ["c1"]  # this replica's
    assert redis_up() == 0


async def test_a_killed_redis_degrades_and_the_fast_path_comes_back(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="editor.bus.redis.health")
    with trio.fail_after(30):
        async with opened_redis(redis_server.url, origin="p1") as backends, \
                backends.bus.subscribe("d") as channel:
            await backends.bus.publish(leave("c0"))
            assert await channel.receive() == leave("c0")
            await backends.cache.put("d", Snapshot(3, []), 60)
            assert await backends.cache.get("d") == Snapshot(3, [])
            assert redis_up() == 1

            await trio.to_thread.run_sync(redis_server.kill)
            await assert_degraded(backends)

            await trio.to_thread.run_sync(redis_server.start)  # empty, on the same port
            with trio.fail_after(10):  # the reader's backoff is at most 5 s
                await wait_flowing(backends, channel)
            assert redis_up() == 1
            with redis_server.client() as client:
                assert client.pubsub_channels() == [b"editor:{d}"]  # subscribed again
                assert await backends.limiter.take("shared", RATE_PER_S, BURST) == 0.0
                assert client.exists("editor:rate:{shared}")  # the bucket is Redis's again
            await backends.cache.put("d", Snapshot(4, []), 60)
            assert await backends.cache.get("d") == Snapshot(4, [])
    flips = [r.getMessage().split(":")[0] for r in caplog.records if r.name.endswith("health")]
    assert flips == ["redis up", "redis down", "redis up"]  # once per flip, not per call


async def test_backends_open_while_redis_is_down_and_catch_up(
    redis_server: RedisServer,
) -> None:
    await trio.to_thread.run_sync(redis_server.kill)  # nothing listens on its port now
    with trio.fail_after(30):
        async with opened_redis(redis_server.url, origin="p1") as backends, \
                backends.bus.subscribe("d") as channel:
            await assert_degraded(backends)
            await trio.to_thread.run_sync(redis_server.start)
            with trio.fail_after(10):
                await wait_flowing(backends, channel)
            assert redis_up() == 1
