"""The ``Presence`` contract, run against every backend, and the embedded table's bound."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from editor.bus import MemoryPresence, Presence, PresenceEntry
from tests.contract.bus_backends import presence_fixture, seams_fixture  # noqa: F401

TTL_S = 10.0


def entry(client_id: str, index: int | None = 0, version: int = 0) -> PresenceEntry:
    """A presence entry of user u-<client_id>."""
    return PresenceEntry(client_id, {"id": f"u-{client_id}", "name": client_id.upper()}, index,
                         0, version)


async def test_put_list_remove(presence: Presence, autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(5):
        assert await presence.list("d") == []
        for client_id in ("c3", "c1", "c2"):
            await presence.put("d", entry(client_id), TTL_S)
        await presence.put("other", entry("c9"), TTL_S)
        assert await presence.list("d") == [entry("c1"), entry("c2"), entry("c3")]
        await presence.remove("d", "c2")
        await presence.remove("d", "missing")  # no error
        assert await presence.list("d") == [entry("c1"), entry("c3")]
        assert await presence.list("other") == [entry("c9")]


async def test_put_replaces_the_clients_entry(
    presence: Presence, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(5):
        await presence.put("d", entry("c1", index=0, version=1), TTL_S)
        await presence.put("d", entry("c1", index=None, version=2), TTL_S)
        assert await presence.list("d") == [entry("c1", index=None, version=2)]


async def test_entries_expire_after_their_ttl(
    presence: Presence, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(TTL_S * 3):
        await presence.put("d", entry("c1"), TTL_S)
        await presence.put("d", entry("c2"), TTL_S * 2)
        await trio.sleep(TTL_S - 0.1)
        assert [e.client_id for e in await presence.list("d")] == ["c1", "c2"]
        await trio.sleep(0.2)
        assert [e.client_id for e in await presence.list("d")] == ["c2"]
        await trio.sleep(TTL_S)
        assert await presence.list("d") == []


async def test_a_refresh_keeps_an_entry_alive(
    presence: Presence, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(TTL_S * 10):
        await presence.put("d", entry("c1"), TTL_S)
        for _ in range(8):
            await trio.sleep(TTL_S / 2)
            await presence.put("d", entry("c1"), TTL_S)  # as each cursor update does
        assert await presence.list("d") == [entry("c1")]
        await trio.sleep(TTL_S + 0.1)
        assert await presence.list("d") == []


async def test_a_removed_entry_put_again_lives_its_new_ttl(
    presence: Presence, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(TTL_S * 3):
        await presence.put("d", entry("c1"), TTL_S)
        await presence.remove("d", "c1")
        await trio.sleep(TTL_S / 2)
        await presence.put("d", entry("c1"), TTL_S)
        await trio.sleep(TTL_S * 0.9)  # past the first put's expiry, within the second's
        assert await presence.list("d") == [entry("c1")]


@pytest.mark.parametrize("ttl_s", [0.0, -1.0])
async def test_a_ttl_must_be_positive(
    presence: Presence, autojump_clock: trio.testing.MockClock, ttl_s: float
) -> None:
    with trio.fail_after(5), pytest.raises(ValueError, match="ttl_s"):
        await presence.put("d", entry("c1"), ttl_s)


async def test_memory_presence_holds_at_most_max_entries(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Over the bound, the entry closest to expiring goes first."""
    presence = MemoryPresence(max_entries=2)
    with trio.fail_after(5):
        await presence.put("d", entry("c1"), TTL_S)
        await presence.put("e", entry("c2"), TTL_S * 2)
        await presence.put("d", entry("c1"), TTL_S * 3)  # refreshed: now the latest to expire
        await presence.put("d", entry("c3"), TTL_S * 2.5)
        assert await presence.list("d") == [entry("c1"), entry("c3")]
        assert await presence.list("e") == []

