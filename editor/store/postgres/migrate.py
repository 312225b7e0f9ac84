"""Schema migrations: versioned SQL files applied in order under an advisory lock.

``migrations/NNNN_name.sql`` files ship in the package. Each one runs in its own
transaction with its row in ``schema_migrations``; a session-level advisory lock lets
several replicas start together: one applies, the others wait, then find nothing to do.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources

from editor.store.postgres.db import Connection

# pg_advisory_lock key of the migrator: 'edit' 'migr' in ASCII, unlikely to collide.
MIGRATION_LOCK_KEY = 0x65646974_6D696772
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One SQL file: its version, its name and its statements."""

    version: int
    name: str
    sql: str

    @property
    def label(self) -> str:
        """The file name without ``.sql``: ``0001_initial``."""
        return f"{self.version:04d}_{self.name}"


@dataclass
class MigrationReport:
    """What a run did: the migrations it applied (with milliseconds) and the final version."""

    applied: list[tuple[str, float]] = field(default_factory=list)
    version: int = 0
    newest_known: int = 0


def migrations() -> list[Migration]:
    """Every migration shipped with this build, in version order."""
    found = []
    for entry in (resources.files("editor.store.postgres") / "migrations").iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migration files are not numbered 1..N: {versions}")
    return found


async def migrate(conn: Connection,
                  on_applied: Callable[[str, float], None] | None = None) -> MigrationReport:
    """Apply every migration the database lacks, holding the migration lock."""
    known = migrations()
    report = MigrationReport(newest_known=known[-1].version if known else 0)
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())")
        done = {row["version"] for row in await conn.fetch(
            "SELECT version FROM schema_migrations")}
        for migration in known:
            if migration.version in done:
                continue
            started = time.perf_counter()
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute("INSERT INTO schema_migrations (version, name)"
                                   " VALUES ($1, $2)", migration.version, migration.name)
            elapsed_ms = (time.perf_counter() - started) * 1000
            report.applied.append((migration.label, elapsed_ms))
            if on_applied is not None:
                on_applied(migration.label, elapsed_ms)
        report.version = int(await conn.fetchval(
            "SELECT coalesce(max(version), 0) FROM schema_migrations"))
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
    return report
