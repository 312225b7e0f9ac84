"""The PostgreSQL database under the distributed store: the pool, the bridge, the errors.

asyncpg runs on a trio-asyncio loop that lives as long as the store. Each store operation
is one asyncio function (a transaction, a batch, one statement) run through ONE bridged
call: the bridge costs about 0.5 ms per call, so never bridge per statement.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, TypeAlias, TypeVar

import asyncpg
import trio

from editor import aio, logs
from editor.events.shapes import Event
from editor.store.pool import DEFAULT_POOL, PoolSettings
from editor.store.records import Unavailable

log = logs.get(__name__)
T = TypeVar("T")
Connection: TypeAlias = asyncpg.Connection

COMMITS_CHANNEL = "editor_commits"  # NOTIFY payload: "DOC_ID HEAD ORIGIN"
LISTEN_BACKOFF_S = (0.1, 5.0)  # first and longest wait before reconnecting the listener


_EPOCH_2000_US = 946_684_800 * 1_000_000  # PostgreSQL counts microseconds from 2000-01-01


def _encode_time(epoch_s: float) -> tuple[int]:
    return (round(epoch_s * 1_000_000) - _EPOCH_2000_US,)


def _decode_time(value: tuple[int]) -> float:
    return (value[0] + _EPOCH_2000_US) / 1_000_000


def storable(*texts: str) -> bool:
    """Whether PostgreSQL's text type can hold every one of ``texts`` (no NUL character).

    A key that cannot be stored matches no row: lookups answer "none" instead of failing.
    """
    return all("\x00" not in text for text in texts)


def round_us(epoch_s: float) -> int:
    """Epoch seconds as the whole microseconds a ``timestamptz`` keeps."""
    return round(epoch_s * 1_000_000)


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
# InternalClientError: a connection released while its statement was still out (a timeout
# or a lost server mid-commit): as unknown as a lost connection.
CONNECTION_ERRORS = (OSError, TimeoutError, asyncpg.InterfaceError,
                     asyncpg.InternalClientError, asyncpg.PostgresConnectionError)


class PostgresDatabase:
    """A connection pool on a trio-asyncio loop, and one bridged call per operation.

    ``origin`` names this store object in commit notices, so it can skip its own.
    """

    def __init__(self, loop: aio.TrioEventLoop, pool: asyncpg.Pool, url: str, *,
                 replica: asyncpg.Pool | None = None) -> None:
        self._loop = loop
        self._pool = pool
        self._replica = replica
        self._url = url
        self._closed = False
        self.origin = uuid.uuid4().hex[:12]

    @staticmethod
    async def create_pool(loop: aio.TrioEventLoop, url: str,
                          settings: PoolSettings = DEFAULT_POOL) -> asyncpg.Pool:
        """A pool on ``url`` (libpq form, several hosts allowed), bridged once."""
        async def create() -> asyncpg.Pool:
            return await asyncpg.create_pool(
                url, min_size=settings.min_connections, max_size=settings.max_connections,
                command_timeout=settings.command_timeout_s, init=init_connection)

        try:
            pool: asyncpg.Pool = await aio.aio_as_trio(create, loop=loop)()
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
                result = await aio.aio_as_trio(fn, loop=self._loop)()
        except (*CONNECTION_ERRORS, asyncpg.PostgresError) as exc:
            raise Unavailable(f"postgresql: {type(exc).__name__}: {exc}") from exc
        return result

    async def _read(self, fn: Callable[[Connection], Awaitable[T]], *,
                    replica: bool = False) -> T:
        """One read on a pooled connection (one statement: consistent by itself).

        ``replica``: from the read replica when there is one (it may lag: only for reads
        whose caller can tell a stale answer, and then asks the primary).
        """
        pool = self._replica if replica and self._replica is not None else self._pool

        async def run() -> T:
            async with pool.acquire() as conn:
                return await fn(conn)

        return await self.bridge(run)

    @property
    def has_replica(self) -> bool:
        """Whether history reads go to a read replica first."""
        return self._replica is not None

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
            for pool in (self._pool, self._replica):
                if pool is None:
                    continue
                try:
                    await self.bridge(pool.close)
                except Unavailable:
                    await self.bridge(partial(_terminate, pool))

    async def ping(self) -> None:
        """Run a trivial query."""
        await self._read(lambda c: c.fetchval("SELECT 1"))

    async def server(self) -> str:
        """``HOST:PORT (primary|standby)`` of the server the pool writes to, for the logs."""
        row = await self._read(lambda c: c.fetchrow(
            "SELECT coalesce(host(inet_server_addr()), 'local socket') AS host,"
            " coalesce(inet_server_port(), 0) AS port, pg_is_in_recovery() AS standby"))
        role = "standby" if row["standby"] else "primary"
        return f"{row['host']}:{row['port']} ({role})"

    async def follow_commits(self, on_commit: Callable[[str, int], None]) -> None:
        """LISTEN for other store objects' commits on a connection of its own; reconnect
        with backoff when it is lost (commits meanwhile are found by the readers' polls)."""
        wait = LISTEN_BACKOFF_S[0]
        while True:
            try:
                await self._listen(on_commit)
            except Unavailable as exc:
                log.warning("commit notices lost; reconnecting",
                            extra={"error": str(exc), "retry_in_s": wait})
            await trio.sleep(wait)
            wait = min(wait * 2, LISTEN_BACKOFF_S[1])

    async def _listen(self, on_commit: Callable[[str, int], None]) -> None:
        """One LISTEN connection, until it is lost (Unavailable) or the caller is cancelled."""
        lost = trio.Event()
        opened: list[Connection] = []  # closed below even if a cancel cut the connect short

        def notified(_conn: object, _pid: int, _channel: str, payload: str) -> None:
            doc_id, head, origin = payload.rsplit(" ", 2)
            if origin != self.origin:
                on_commit(doc_id, int(head))

        async def connect() -> None:
            conn: Connection = await asyncpg.connect(self._url, timeout=5)
            opened.append(conn)
            conn.add_termination_listener(lambda _conn: lost.set())
            await conn.add_listener(COMMITS_CHANNEL, notified)

        try:
            await self.bridge(connect)
            await lost.wait()
        finally:
            if opened:
                with trio.CancelScope(shield=True):
                    await self.bridge(partial(_close_quietly, opened[0]))
        raise Unavailable("postgresql: the notice connection was closed")


async def _terminate(pool: asyncpg.Pool) -> None:
    pool.terminate()


async def _close_quietly(conn: Connection) -> None:
    try:
        await asyncio.wait_for(conn.close(), timeout=2)
    except (*CONNECTION_ERRORS, asyncpg.PostgresError):
        conn.terminate()
