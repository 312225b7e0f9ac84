"""The SQLite database under the embedded store: schema, connections, transactions.

SQLite in WAL mode with full fsync, called from worker threads: one writer connection and
one reader connection, each used by one thread at a time, so SQLite calls never block the
Trio loop. Several processes may share one database file: writes take ``BEGIN IMMEDIATE``
and wait on the busy timeout.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import trio

from editor.events.shapes import Event
from editor.store.records import Unavailable

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    email_verified INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    owner_id TEXT NOT NULL REFERENCES users(id),
    head INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    deleted_at REAL
);
CREATE TABLE IF NOT EXISTS members (
    doc_id TEXT NOT NULL REFERENCES documents(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')),
    PRIMARY KEY (doc_id, user_id)
);
CREATE INDEX IF NOT EXISTS members_by_user ON members(user_id);
CREATE TABLE IF NOT EXISTS ops (
    doc_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    delta TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (doc_id, version)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS ops_dedup ON ops(doc_id, user_id, client_id, seq);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    expires_at REAL NOT NULL,
    spent_at REAL,
    revoked_at REAL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS refresh_by_family ON refresh_tokens(family_id);
CREATE TABLE IF NOT EXISTS email_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    email TEXT NOT NULL,
    expires_at REAL NOT NULL,
    used_at REAL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS identities (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (issuer, subject)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshots (
    doc_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    content TEXT NOT NULL,
    PRIMARY KEY (doc_id, version)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    key TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS invitations (
    doc_id TEXT NOT NULL REFERENCES documents(id),
    email_key TEXT NOT NULL,
    email TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'owner')),
    invited_by TEXT NOT NULL REFERENCES users(id),
    created_at REAL NOT NULL,
    PRIMARY KEY (doc_id, email_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS invitations_by_email ON invitations(email_key);
CREATE TABLE IF NOT EXISTS relay_lease (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until REAL NOT NULL
) WITHOUT ROWID;
"""
# Columns added after the first release; databases made before get them at open.
ADDED_COLUMNS = {
    ("documents", "relayed_head"): "INTEGER NOT NULL DEFAULT 0",
}


def dumps(value: Any) -> str:
    """Compact JSON as stored in TEXT columns."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def add_events(conn: sqlite3.Connection, events: Sequence[Event]) -> None:
    """Write events to the outbox inside the caller's transaction."""
    if events:
        conn.executemany("INSERT INTO outbox (topic, key, body) VALUES (?, ?, ?)",
                         [(e.topic, e.key, dumps(e.body)) for e in events])


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _migrate(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)
    for (table, column), declaration in ADDED_COLUMNS.items():
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
    conn.execute("CREATE INDEX IF NOT EXISTS documents_unrelayed ON documents(updated_at)"
                 " WHERE head > relayed_head")


class SqliteDatabase:
    """Two connections to one database file and the threads that use them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer = _connect(str(path))
        _migrate(self._writer)
        self._reader = _connect(str(path))
        self._write_limiter = trio.CapacityLimiter(1)
        self._read_limiter = trio.CapacityLimiter(1)

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self._run(fn, self._reader, self._read_limiter)

    async def _read_consistent(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run several reads in one snapshot (a read transaction)."""
        def in_transaction(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN")
            try:
                return fn(conn)
            finally:
                conn.execute("COMMIT")

        return await self._run(in_transaction, self._reader, self._read_limiter)

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def in_transaction(conn: sqlite3.Connection) -> T:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        return await self._run(in_transaction, self._writer, self._write_limiter)

    @staticmethod
    async def _run(
        fn: Callable[[sqlite3.Connection], T], conn: sqlite3.Connection,
        limiter: trio.CapacityLimiter,
    ) -> T:
        try:
            # Not cancellable: a commit must finish or fail, never be abandoned mid-way.
            return await trio.to_thread.run_sync(fn, conn, limiter=limiter)
        except sqlite3.OperationalError as exc:
            raise Unavailable(f"sqlite: {exc}") from exc

    async def close(self) -> None:
        """Close both connections."""
        async with self._write_limiter, self._read_limiter:
            self._writer.close()
            self._reader.close()

    async def ping(self) -> None:
        """Run a trivial query."""
        await self._read(lambda c: c.execute("SELECT 1").fetchone())
