"""The PostgreSQL database under the distributed store: the pool, the bridge, the errors.

asyncpg runs on a trio-asyncio loop that lives as long as the store. Each store operation
is one asyncio function (a transaction, a batch, one statement) run through ONE bridged
call: the bridge costs about 0.5 ms per call, so never bridge per statement.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeAlias, TypeVar

import asyncpg
import trio
import trio_asyncio

from editor.events.shapes import Event
from editor.store.records import Unavailable

T = TypeVar("T")
Connection: TypeAlias = asyncpg.Connection

POOL_MIN_CONNECTIONS = 1
POOL_MAX_CONNECTIONS = 10
# A statement (and a commit) that takes longer is abandoned: a read is Unavailable, an
# append's outcome is unknown (CommitUnknown) and gets settled by its dedup keys.
COMMAND_TIMEOUT_S = 10.0
_EPOCH_2000_US = 946_684_800 * 1_000_000  # PostgreSQL counts microseconds from 2000-01-01


def _encode_time(epoch_s: float) -> tuple[int]:
    return (round(epoch_s * 1_000_000) - _EPOCH_2000_US,)


def _decode_time(value: tuple[int]) -> float:
    return (value[0] + _EPOCH_2000_US) / 1_000_000


def dumps(value: Any) -> str:
    """Compact JSON as stored in text columns (the same bytes as the SQLite build)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def init_connection(conn: Connection) -> None:
    """Codecs of every pooled connection: timestamptz as epoch seconds, jsonb as values."""
    await conn.set_type_codec("timestamptz", schema="pg_catalog", format="tuple",
                              encoder=_encode_time, decoder=_decode_time)
    await conn.set_type_codec("jsonb", schema="pg_catalog", encoder=dumps, decoder=json.loads)


_ADD_EVENTS = """
INSERT INTO outbox (topic, key, body)
SELECT e.topic, e.key, e.body
FROM unnest($1::text[], $2::text[], $3::jsonb[]) WITH ORDINALITY AS e(topic, key, body, n)
ORDER BY e.n
"""


def event_columns(events: Sequence[Event]) -> tuple[list[str], list[str], list[Any]]:
    """The outbox rows of ``events`` as three parallel arrays (for ``unnest``)."""
    return [e.topic for e in events], [e.key for e in events], [e.body for e in events]


async def add_events(conn: Connection, events: Sequence[Event]) -> None:
    """Write events to the outbox inside the caller's transaction."""
    if events:
        await conn.execute(_ADD_EVENTS, *event_columns(events))


# What a failing connection or server raises; a statement's own errors are PostgresError.
CONNECTION_ERRORS = (OSError, TimeoutError, asyncpg.InterfaceError,
                     asyncpg.PostgresConnectionError)


class PostgresDatabase:
    """A connection pool on a trio-asyncio loop, and one bridged call per operation."""

    def __init__(self, loop: trio_asyncio.TrioEventLoop, pool: asyncpg.Pool) -> None:
        self._loop = loop
        self._pool = pool
        self._closed = False

    @staticmethod
    async def create_pool(loop: trio_asyncio.TrioEventLoop, url: str) -> asyncpg.Pool:
        """A pool on ``url`` (libpq form, several hosts allowed), bridged once."""
        async def create() -> asyncpg.Pool:
            return await asyncpg.create_pool(
                url, min_size=POOL_MIN_CONNECTIONS, max_size=POOL_MAX_CONNECTIONS,
                command_timeout=COMMAND_TIMEOUT_S, init=init_connection)

        try:
            pool: asyncpg.Pool = await trio_asyncio.aio_as_trio(create, loop=loop)()
        except (*CONNECTION_ERRORS, asyncpg.PostgresError) as exc:
            raise Unavailable(f"postgresql: cannot connect: {exc}") from exc
        return pool

    async def bridge(self, fn: Callable[[], Awaitable[T]], *, shield: bool = False) -> T:
        """Run one asyncio function on the store's loop, mapping database failures.

        ``shield``: writes finish or fail (bounded by the command timeout), never get
        abandoned half-way by a cancelled caller.
        """
        try:
            with trio.CancelScope(shield=shield):
                result = await trio_asyncio.aio_as_trio(fn, loop=self._loop)()
        except (*CONNECTION_ERRORS, asyncpg.PostgresError) as exc:
            raise Unavailable(f"postgresql: {type(exc).__name__}: {exc}") from exc
        return result

    async def _read(self, fn: Callable[[Connection], Awaitable[T]]) -> T:
        """One read on a pooled connection (one statement: consistent by itself)."""
        async def run() -> T:
            async with self._pool.acquire() as conn:
                return await fn(conn)

        return await self.bridge(run)

    async def _write(self, fn: Callable[[Connection], Awaitable[T]], *,
                     transaction: bool = True) -> T:
        """Statements in one transaction on a pooled connection, committed or rolled back.

        ``transaction=False`` for a single statement: its own implicit transaction saves
        the BEGIN and COMMIT round trips.
        """
        async def run() -> T:
            async with self._pool.acquire() as conn:
                if not transaction:
                    return await fn(conn)
                async with conn.transaction():
                    return await fn(conn)

        return await self.bridge(run, shield=True)

    async def close(self) -> None:
        """Close every pooled connection (idempotent)."""
        if self._closed:
            return
        self._closed = True
        with trio.CancelScope(shield=True):
            try:
                await self.bridge(self._pool.close)
            except Unavailable:
                await self.bridge(self._terminate)

    async def _terminate(self) -> None:
        self._pool.terminate()

    async def ping(self) -> None:
        """Run a trivial query."""
        await self._read(lambda c: c.fetchval("SELECT 1"))
