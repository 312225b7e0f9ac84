"""The distributed store: every store Protocol on PostgreSQL through asyncpg.

asyncpg is an asyncio library; it runs on a trio-asyncio loop opened with the store and
closed after it, and is touched only inside this package.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from editor import aio, logs
from editor.store.pool import DEFAULT_POOL, PoolSettings
from editor.store.postgres.accounts import PostgresAccounts
from editor.store.postgres.db import PostgresDatabase
from editor.store.postgres.documents import PostgresDocuments
from editor.store.postgres.invitations import PostgresInvitations
from editor.store.postgres.migrate import MigrationReport, migrate
from editor.store.postgres.oplog import PostgresOpLog
from editor.store.postgres.outbox import PostgresOutbox

log = logs.get(__name__)


class PostgresStore(PostgresOpLog, PostgresDocuments, PostgresAccounts, PostgresInvitations,
                    PostgresOutbox):
    """``Store`` on one PostgreSQL database (``postgresql://…``, libpq multi-host form)."""

    async def migrate(self, on_applied: Callable[[str, float], None] | None = None
                      ) -> MigrationReport:
        """Apply the migrations the database lacks (under the migration lock)."""
        async def run() -> MigrationReport:
            async with self._pool.acquire() as conn:
                return await migrate(conn, on_applied)

        return await self.bridge(run, shield=True)


@asynccontextmanager
async def opened_postgres_store(url: str, *, apply_migrations: bool = True,
                                settings: PoolSettings = DEFAULT_POOL
                                ) -> AsyncIterator[PostgresStore]:
    """The store on ``url``, its schema migrated unless told not to; closed on exit."""
    try:
        async with aio.open_loop() as loop:
            pool = await PostgresDatabase.create_pool(loop, url, settings)
            replica = None
            if settings.read_url:
                replica = await PostgresDatabase.create_pool(loop, settings.read_url, settings)
            store = PostgresStore(loop, pool, url, replica=replica)
            try:
                log.info("database", extra={"server": await store.server(),
                                            "read_replica": bool(replica)})
                if apply_migrations:
                    report = await store.migrate()
                    log.info("database schema", extra={
                        "version": report.version,
                        "applied": ",".join(label for label, _ in report.applied) or "none"})
                yield store
            finally:
                await store.close()
    except BaseExceptionGroup as group:
        # The loop's own nurseries wrap whatever crosses them; callers get the error itself.
        sole = aio.sole_exception(group)
        if sole is None:
            raise
        raise sole from sole.__cause__


__all__ = ["MigrationReport", "PoolSettings", "PostgresStore", "opened_postgres_store"]
