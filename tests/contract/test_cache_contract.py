"""The ``SnapshotCache`` contract, run against every backend, and the embedded cache's bound."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from editor.bus import MemorySnapshotCache, SnapshotCache
from editor.store.records import Snapshot
from tests.contract.bus_backends import cache_fixture, seams_fixture  # noqa: F401

TTL_S = 60.0


def snapshot(version: int) -> Snapshot:
    """The content of a document at ``version``."""
    return Snapshot(version, [{"insert": f"v{version}\n"}])


async def test_get_put_invalidate(
    cache: SnapshotCache, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(5):
        assert await cache.get("d") is None
        await cache.put("d", snapshot(3), TTL_S)
        await cache.put("other", snapshot(9), TTL_S)
        assert await cache.get("d") == snapshot(3)
        await cache.invalidate("d")
        await cache.invalidate("missing")  # no error
        assert await cache.get("d") is None
        assert await cache.get("other") == snapshot(9)


async def test_a_snapshot_expires_after_its_ttl(
    cache: SnapshotCache, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(TTL_S * 3):
        await cache.put("d", snapshot(1), TTL_S)
        await trio.sleep(TTL_S - 0.1)
        assert await cache.get("d") == snapshot(1)
        await trio.sleep(0.2)
        assert await cache.get("d") is None


async def test_an_older_version_never_replaces_a_newer_one(
    cache: SnapshotCache, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(5):
        await cache.put("d", snapshot(5), TTL_S)
        await cache.put("d", snapshot(4), TTL_S)  # a reader that loaded before the writer
        assert await cache.get("d") == snapshot(5)
        await cache.put("d", snapshot(6), TTL_S)
        assert await cache.get("d") == snapshot(6)


async def test_the_same_version_again_refreshes_the_ttl(
    cache: SnapshotCache, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(TTL_S * 3):
        await cache.put("d", snapshot(5), TTL_S)
        await trio.sleep(TTL_S / 2)
        await cache.put("d", snapshot(5), TTL_S)
        await trio.sleep(TTL_S * 0.9)
        assert await cache.get("d") == snapshot(5)


async def test_an_older_version_fills_an_invalidated_or_expired_entry(
    cache: SnapshotCache, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(TTL_S * 3):
        await cache.put("d", snapshot(5), TTL_S)
        await cache.invalidate("d")
        await cache.put("d", snapshot(2), TTL_S)
        assert await cache.get("d") == snapshot(2)
        await cache.put("e", snapshot(5), TTL_S)
        await trio.sleep(TTL_S)
        await cache.put("e", snapshot(2), TTL_S)
        assert await cache.get("e") == snapshot(2)


@pytest.mark.parametrize("ttl_s", [0.0, -1.0])
async def test_a_ttl_must_be_positive(
    cache: SnapshotCache, autojump_clock: trio.testing.MockClock, ttl_s: float
) -> None:
    with trio.fail_after(5), pytest.raises(ValueError, match="ttl_s"):
        await cache.put("d", snapshot(1), ttl_s)


async def test_memory_cache_holds_at_most_max_documents(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The least recently used document goes first; a get counts as a use."""
    cache = MemorySnapshotCache(max_documents=2)
    with trio.fail_after(5):
        await cache.put("a", snapshot(1), TTL_S)
        await cache.put("b", snapshot(2), TTL_S)
        assert await cache.get("a") == snapshot(1)
        await cache.put("c", snapshot(3), TTL_S)
        assert await cache.get("b") is None
        assert await cache.get("a") == snapshot(1)
        assert await cache.get("c") == snapshot(3)
