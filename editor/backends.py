"""Opens every backend a process needs from ``Config``, by URL scheme (PROTOCOL.md §6).

Unset means embedded: SQLite in the data directory, the in-process bus, presence, cache and
rate limits, the in-process event stream, and ``DATA_DIR/archive/``. Set, each variable picks
its distributed backend (PostgreSQL, Redis, Kafka, S3), whose adapter is imported only then.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import trio

from editor import logs
from editor.archive import Archive, LocalArchive
from editor.bus import (
    Bus,
    MemoryBus,
    MemoryPresence,
    MemoryRateLimiter,
    MemorySnapshotCache,
    Presence,
    RateLimiter,
    SharedBus,
    SnapshotCache,
)
from editor.config import POSTGRES_SCHEMES, Config, ConfigError, redact_url
from editor.events import EventSink, EventSource, MemoryEventStream
from editor.store.pool import DEFAULT_POOL, PoolSettings
from editor.store.protocols import Store

log = logs.get(__name__)
BUS_QUEUE_MESSAGES = 1024
# In one process the stream only feeds in-process workers: keep its memory small.
EMBEDDED_EVENTS_PER_PARTITION = 2_000


@dataclass(frozen=True)
class Backends:
    """The backends of one process; ``origin`` names the process on the shared bus."""

    origin: str
    shared_bus: bool  # whether other processes see this bus and presence
    store: Store
    bus: Bus
    presence: Presence
    cache: SnapshotCache
    limiter: RateLimiter
    events: EventSink
    event_source: EventSource
    archive: Archive

    @property
    def shared(self) -> SharedBus | None:
        """The bus and presence other replicas see, when they are shared (Redis)."""
        return SharedBus(self.bus, self.presence, self.origin) if self.shared_bus else None


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
    """Open every backend of ``cfg``; close them on exit (in reverse order)."""
    await trio.Path(cfg.data_dir).mkdir(parents=True, exist_ok=True)
    origin = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    async with AsyncExitStack() as stack:
        store = await stack.enter_async_context(
            opened_store(cfg.effective_database_url, pool_settings(cfg)))
        bus: Bus
        presence: Presence
        cache: SnapshotCache
        limiter: RateLimiter
        if cfg.redis_url:
            from editor.bus.redis import opened_redis

            redis = await stack.enter_async_context(opened_redis(cfg.redis_url, origin=origin))
            bus, presence, cache, limiter = (redis.bus, redis.presence, redis.cache,
                                             redis.limiter)
        else:
            bus, presence, cache, limiter = (MemoryBus(queue_size=BUS_QUEUE_MESSAGES),
                                             MemoryPresence(), MemorySnapshotCache(),
                                             MemoryRateLimiter())
        events: EventSink
        event_source: EventSource
        if cfg.kafka_bootstrap:
            from editor.events.kafka import opened_kafka

            kafka = await stack.enter_async_context(opened_kafka(
                cfg.kafka_bootstrap, partitions=cfg.kafka_partitions,
                replication_factor=cfg.kafka_replication_factor, client_id=origin,
                session_timeout_ms=cfg.kafka_session_timeout_ms,
                heartbeat_interval_ms=max(100, cfg.kafka_session_timeout_ms // 3),
                request_timeout_ms=cfg.kafka_request_timeout_ms))
            events = event_source = kafka
        else:
            stream = MemoryEventStream(max_events_per_partition=EMBEDDED_EVENTS_PER_PARTITION)
            events = event_source = stream
        archive: Archive
        if cfg.s3_endpoint:
            from editor.archive.s3 import opened_s3_archive

            archive = await stack.enter_async_context(opened_s3_archive(
                cfg.s3_endpoint, cfg.s3_access_key, cfg.s3_secret_key, cfg.s3_bucket,
                cfg.s3_region))
        else:
            archive = LocalArchive(cfg.data_dir / "archive")
        log.info("backends", extra={
            "database": redact_url(cfg.effective_database_url),
            "bus": "redis" if cfg.redis_url else "in-process",
            "events": "kafka" if cfg.kafka_bootstrap else "in-process",
            "archive": cfg.s3_endpoint or str(cfg.data_dir / "archive")})
        yield Backends(origin, bool(cfg.redis_url), store, bus, presence, cache, limiter,
                       events, event_source, archive)
