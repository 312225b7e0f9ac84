"""Opens every backend a process needs from ``Config``, by URL scheme (PROTOCOL.md §6).

Unset means embedded: SQLite in the data directory, the in-process bus, presence, cache and
rate limits, the in-process event stream, and ``DATA_DIR/archive/``. A distributed backend
this build does not have fails at start-up with a message that names its variable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import trio

from editor.archive import Archive, LocalArchive
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
from editor.config import POSTGRES_SCHEMES, Config, ConfigError, redact_url
from editor.events import EventSink, EventSource, MemoryEventStream
from editor.store.pool import DEFAULT_POOL, PoolSettings
from editor.store.protocols import Store

BUS_QUEUE_MESSAGES = 1024
# In one process the stream only feeds in-process workers: keep its memory small.
EMBEDDED_EVENTS_PER_PARTITION = 2_000


@dataclass(frozen=True)
class Backends:
    """The backends of one process."""

    store: Store
    bus: Bus
    presence: Presence
    cache: SnapshotCache
    limiter: RateLimiter
    events: EventSink
    event_source: EventSource
    archive: Archive


def pool_settings(cfg: Config) -> PoolSettings:
    """The ``EDITOR_DATABASE_*`` settings of a server database."""
    return PoolSettings(cfg.database_pool_min, cfg.database_pool_max,
                        cfg.database_command_timeout_s, cfg.database_read_url)


@asynccontextmanager
async def opened_store(url: str, settings: PoolSettings = DEFAULT_POOL
                       ) -> AsyncIterator[Store]:
    """The store for a database URL, closed on exit: ``sqlite:///PATH``, or
    ``postgresql://…`` (its schema migrated first, under a lock)."""
    if url.startswith(POSTGRES_SCHEMES):
        from editor.store.postgres import opened_postgres_store

        async with opened_postgres_store(url, settings=settings) as postgres_store:
            yield postgres_store
        return
    if not url.startswith("sqlite:///"):
        raise ConfigError(f"EDITOR_DATABASE_URL={redact_url(url)!r}: use sqlite:///PATH or"
                          " postgresql://USER@HOST:PORT/DB")
    from editor.store.sqlite import SqliteStore

    store = await SqliteStore.open(url)
    try:
        yield store
    finally:
        with trio.CancelScope(shield=True):
            await store.close()


@asynccontextmanager
async def open_backends(cfg: Config) -> AsyncIterator[Backends]:
    """Open every backend of ``cfg``; close them on exit."""
    if cfg.redis_url:
        raise ConfigError(f"EDITOR_REDIS_URL={cfg.redis_url!r}: this build has only the"
                          " in-process bus; unset it")
    await trio.Path(cfg.data_dir).mkdir(parents=True, exist_ok=True)
    async with opened_store(cfg.effective_database_url, pool_settings(cfg)) as store:
        stream = MemoryEventStream(max_events_per_partition=EMBEDDED_EVENTS_PER_PARTITION)
        yield Backends(store, MemoryBus(queue_size=BUS_QUEUE_MESSAGES), MemoryPresence(),
                       MemorySnapshotCache(), MemoryRateLimiter(), stream, stream,
                       LocalArchive(cfg.data_dir / "archive"))
