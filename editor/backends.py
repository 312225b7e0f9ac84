"""Opens every backend a process needs from ``Config``, by URL scheme (PROTOCOL.md §6).

Unset means embedded: SQLite in the data directory, the in-process bus, presence, cache and
rate limits. A distributed backend this build does not have fails at start-up with a
message that names its variable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import trio

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
from editor.config import Config, ConfigError
from editor.store.protocols import Store

BUS_QUEUE_MESSAGES = 1024


@dataclass(frozen=True)
class Backends:
    """The backends of one process."""

    store: Store
    bus: Bus
    presence: Presence
    cache: SnapshotCache
    limiter: RateLimiter


async def open_store(url: str) -> Store:
    """The store for a database URL: ``sqlite:///PATH``."""
    if url.startswith("sqlite:///"):
        from editor.store.sqlite import SqliteStore

        return await SqliteStore.open(url)
    raise ConfigError(f"EDITOR_DATABASE_URL={url!r}: this build supports only sqlite:///PATH")


@asynccontextmanager
async def open_backends(cfg: Config) -> AsyncIterator[Backends]:
    """Open every backend of ``cfg``; close them on exit."""
    if cfg.redis_url:
        raise ConfigError(f"EDITOR_REDIS_URL={cfg.redis_url!r}: this build has only the"
                          " in-process bus; unset it")
    await trio.Path(cfg.data_dir).mkdir(parents=True, exist_ok=True)
    store = await open_store(cfg.effective_database_url)
    try:
        yield Backends(store, MemoryBus(queue_size=BUS_QUEUE_MESSAGES), MemoryPresence(),
                       MemorySnapshotCache(), MemoryRateLimiter())
    finally:
        with trio.CancelScope(shield=True):
            await store.close()
