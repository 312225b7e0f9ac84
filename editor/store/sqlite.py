"""The embedded store: SQLite in WAL mode with full fsync, called from worker threads.

One writer connection and one reader connection, each used by one thread at a time,
so SQLite calls never block the Trio loop. Several processes may share one database
file: writes take ``BEGIN IMMEDIATE`` and wait on the busy timeout.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import trio

from editor.store.base import (
    CommittedOp,
    Delta,
    DocumentMeta,
    DuplicateEmail,
    InvalidRefresh,
    Member,
    RefreshReuse,
    Snapshot,
    Unavailable,
    User,
    VersionConflict,
)

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
"""


@dataclass(eq=False)
class _Append:
    """One committer's ops waiting for the shared op-log transaction."""

    doc_id: str
    rows: list[tuple[Any, ...]]
    new_head: int
    updated_at: float
    done: trio.Event = field(default_factory=trio.Event)
    error: Exception | None = None


def _append_batch(batch: list[_Append], conn: sqlite3.Connection) -> None:
    for request in batch:
        conn.execute("SAVEPOINT append")
        try:
            conn.executemany("INSERT INTO ops VALUES (?, ?, ?, ?, ?, ?, ?)", request.rows)
        except sqlite3.IntegrityError as exc:
            conn.execute("ROLLBACK TO append")
            request.error = VersionConflict(str(exc))
        else:
            conn.execute("UPDATE documents SET head = ?, updated_at = ? WHERE id = ?",
                         (request.new_head, request.updated_at, request.doc_id))
        conn.execute("RELEASE append")


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _meta(row: tuple[Any, ...]) -> DocumentMeta:
    return DocumentMeta(
        id=row[0], title=row[1], owner_id=row[2], head=row[3],
        created_at=row[4], updated_at=row[5], deleted=row[6] is not None,
    )


def _user(row: tuple[Any, ...]) -> User:
    return User(
        id=row[0], email=row[1], name=row[2], password_hash=row[3],
        email_verified=bool(row[4]), created_at=row[5],
    )


_DOC_COLUMNS = "id, title, owner_id, head, created_at, updated_at, deleted_at"
_USER_COLUMNS = "id, email, name, password_hash, email_verified, created_at"


class SqliteStore:
    """The ``Store`` on one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer = _connect(str(path))
        self._writer.executescript(SCHEMA)
        self._reader = _connect(str(path))
        self._write_limiter = trio.CapacityLimiter(1)
        self._appends: list[_Append] = []
        self._appending = False
        self._read_limiter = trio.CapacityLimiter(1)

    @classmethod
    async def open(cls, url: str) -> SqliteStore:
        """Open (creating if needed) the database at ``sqlite:///PATH``."""
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return await trio.to_thread.run_sync(cls, path)

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self._run(fn, self._reader, self._read_limiter)

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

    # users

    async def create_user(self, email: str, name: str, password_hash: str, *,
                          email_verified: bool = False) -> User:
        """Insert a user; ``DuplicateEmail`` if the email is taken case-insensitively.

        An empty ``password_hash`` makes an account that can only sign in through OIDC.
        """
        user = User(uuid.uuid4().hex, email, name, password_hash, email_verified, time.time())

        def insert(c: sqlite3.Connection) -> None:
            try:
                c.execute(
                    "INSERT INTO users (id, email, email_key, name, password_hash,"
                    " email_verified, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (user.id, email, email.casefold(), name, password_hash,
                     int(email_verified), user.created_at),
                )
            except sqlite3.IntegrityError:
                raise DuplicateEmail(email) from None

        await self._write(insert)
        return user

    async def user_by_email(self, email: str) -> User | None:
        """The user with this email (case-insensitive), if any."""
        row = await self._read(lambda c: c.execute(
            f"SELECT {_USER_COLUMNS} FROM users WHERE email_key = ?", (email.casefold(),)
        ).fetchone())
        return _user(row) if row else None

    async def user_by_id(self, user_id: str) -> User | None:
        """The user with this id, if any."""
        row = await self._read(lambda c: c.execute(
            f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?", (user_id,)
        ).fetchone())
        return _user(row) if row else None

    async def set_email_verified(self, user_id: str) -> None:
        """Mark the user's email as verified."""
        await self._write(lambda c: c.execute(
            "UPDATE users SET email_verified = 1 WHERE id = ?", (user_id,)))

    async def clear_password(self, user_id: str) -> None:
        """Remove the user's password (the account then signs in only through OIDC)."""
        await self._write(lambda c: c.execute(
            "UPDATE users SET password_hash = '' WHERE id = ?", (user_id,)))

    # email verification

    async def add_email_token(self, token_hash: str, user_id: str, email: str,
                              expires_at: float) -> None:
        """Store a verification token (by its hash) for the user's current email."""
        await self._write(lambda c: c.execute(
            "INSERT INTO email_tokens (token_hash, user_id, email, expires_at)"
            " VALUES (?, ?, ?, ?)", (token_hash, user_id, email, expires_at)))

    async def spend_email_token(self, token_hash: str, now: float) -> str | None:
        """Use a live, unused token once and verify its user's email; the user id, or ``None``.

        Using one spends all the user's tokens. Tokens for an email the account no longer
        has are refused.
        """

        def spend(c: sqlite3.Connection) -> str | None:
            row = c.execute(
                "SELECT t.user_id FROM email_tokens t JOIN users u ON u.id = t.user_id"
                " WHERE t.token_hash = ? AND t.used_at IS NULL AND t.expires_at > ?"
                " AND u.email = t.email", (token_hash, now)).fetchone()
            if row is None:
                return None
            c.execute("UPDATE email_tokens SET used_at = ? WHERE user_id = ? AND used_at IS NULL",
                      (now, row[0]))
            c.execute("UPDATE users SET email_verified = 1 WHERE id = ?", (row[0],))
            return str(row[0])

        return await self._write(spend)

    # identities of OpenID Connect issuers

    async def user_by_identity(self, issuer: str, subject: str) -> User | None:
        """The user linked to the issuer's subject, if any."""
        row = await self._read(lambda c: c.execute(
            f"SELECT {', '.join('u.' + col for col in _USER_COLUMNS.split(', '))}"
            " FROM identities i JOIN users u ON u.id = i.user_id"
            " WHERE i.issuer = ? AND i.subject = ?", (issuer, subject)).fetchone())
        return _user(row) if row else None

    async def link_identity(self, issuer: str, subject: str, user_id: str) -> None:
        """Link the issuer's subject to the user (idempotent)."""
        await self._write(lambda c: c.execute(
            "INSERT OR IGNORE INTO identities VALUES (?, ?, ?)", (issuer, subject, user_id)))

    # refresh tokens

    async def add_refresh_token(self, token_hash: str, family_id: str, user_id: str,
                                expires_at: float) -> None:
        """Store a new refresh token (by its hash) in a family."""
        await self._write(lambda c: c.execute(
            "INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at)"
            " VALUES (?, ?, ?, ?)", (token_hash, family_id, user_id, expires_at)))

    async def spend_refresh_token(self, token_hash: str, now: float) -> tuple[str, str]:
        """Mark a live refresh token spent and return (user_id, family_id).

        A spent token presented again revokes its whole family (``RefreshReuse``).
        """

        def spend(c: sqlite3.Connection) -> tuple[str, str] | RefreshReuse | InvalidRefresh:
            row = c.execute(
                "SELECT family_id, user_id, expires_at, spent_at, revoked_at FROM refresh_tokens"
                " WHERE token_hash = ?", (token_hash,)).fetchone()
            if row is None:
                return InvalidRefresh("unknown refresh token")
            family_id, user_id, expires_at, spent_at, revoked_at = row
            if revoked_at is not None:
                return InvalidRefresh("the refresh token was revoked")
            if spent_at is not None:
                c.execute("UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ?",
                          (now, family_id))
                return RefreshReuse("a spent refresh token was reused; its family is revoked")
            if expires_at <= now:
                return InvalidRefresh("the refresh token has expired")
            c.execute("UPDATE refresh_tokens SET spent_at = ? WHERE token_hash = ?",
                      (now, token_hash))
            return user_id, family_id

        # The revocation must commit even though the caller gets an error, so it is returned.
        outcome = await self._write(spend)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def revoke_refresh_family(self, token_hash: str, now: float) -> None:
        """Revoke every token of the family the given token belongs to (logout)."""
        await self._write(lambda c: c.execute(
            "UPDATE refresh_tokens SET revoked_at = ? WHERE revoked_at IS NULL AND family_id ="
            " (SELECT family_id FROM refresh_tokens WHERE token_hash = ?)", (now, token_hash)))

    # documents and members

    async def create_document(self, owner_id: str, title: str, content: Delta) -> DocumentMeta:
        """Create a document at version 0 with ``content``, its owner as member."""
        now = time.time()
        meta = DocumentMeta(uuid.uuid4().hex, title, owner_id, 0, now, now, False)
        content_json = json.dumps(content, ensure_ascii=False, separators=(",", ":"))

        def insert(c: sqlite3.Connection) -> None:
            c.execute(
                "INSERT INTO documents (id, title, owner_id, head, created_at, updated_at)"
                " VALUES (?, ?, ?, 0, ?, ?)", (meta.id, title, owner_id, now, now))
            c.execute("INSERT INTO members VALUES (?, ?, 'owner')", (meta.id, owner_id))
            c.execute("INSERT INTO snapshots VALUES (?, 0, ?)", (meta.id, content_json))

        await self._write(insert)
        return meta

    async def document(self, doc_id: str) -> DocumentMeta | None:
        """The document's metadata (also when soft-deleted), if it exists."""
        row = await self._read(lambda c: c.execute(
            f"SELECT {_DOC_COLUMNS} FROM documents WHERE id = ?", (doc_id,)).fetchone())
        return _meta(row) if row else None

    async def list_documents(
        self, user_id: str, limit: int, after: tuple[float, str] | None
    ) -> list[tuple[DocumentMeta, str]]:
        """Live documents the user has a role on, most recently updated first, with the role."""
        columns = ", ".join(f"d.{c.strip()}" for c in _DOC_COLUMNS.split(","))
        sql = (f"SELECT {columns}, m.role FROM documents d JOIN members m ON m.doc_id = d.id"
               " WHERE m.user_id = ? AND d.deleted_at IS NULL")
        args: list[Any] = [user_id]
        if after is not None:
            sql += " AND (d.updated_at < ? OR (d.updated_at = ? AND d.id < ?))"
            args += [after[0], after[0], after[1]]
        sql += " ORDER BY d.updated_at DESC, d.id DESC LIMIT ?"
        args.append(limit)
        rows = await self._read(lambda c: c.execute(sql, args).fetchall())
        return [(_meta(row[:7]), row[7]) for row in rows]

    async def set_title(self, doc_id: str, title: str) -> None:
        """Rename a document."""
        await self._write(lambda c: c.execute(
            "UPDATE documents SET title = ?, updated_at = ? WHERE id = ?",
            (title, time.time(), doc_id)))

    async def delete_document(self, doc_id: str) -> None:
        """Soft-delete a document."""
        await self._write(lambda c: c.execute(
            "UPDATE documents SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
            (time.time(), doc_id)))

    async def role_of(self, doc_id: str, user_id: str) -> str | None:
        """The user's role on a live document, or ``None``."""
        row = await self._read(lambda c: c.execute(
            "SELECT m.role FROM members m JOIN documents d ON d.id = m.doc_id"
            " WHERE m.doc_id = ? AND m.user_id = ? AND d.deleted_at IS NULL",
            (doc_id, user_id)).fetchone())
        return row[0] if row else None

    async def members(self, doc_id: str) -> list[Member]:
        """Everyone with a role on the document."""
        rows = await self._read(lambda c: c.execute(
            "SELECT u.id, u.email, u.name, m.role FROM members m JOIN users u ON u.id = m.user_id"
            " WHERE m.doc_id = ? ORDER BY u.email_key", (doc_id,)).fetchall())
        return [Member(*row) for row in rows]

    async def set_member(self, doc_id: str, user_id: str, role: str) -> None:
        """Give a user a role (insert or update)."""
        await self._write(lambda c: c.execute(
            "INSERT INTO members VALUES (?, ?, ?)"
            " ON CONFLICT (doc_id, user_id) DO UPDATE SET role = excluded.role",
            (doc_id, user_id, role)))

    async def remove_member(self, doc_id: str, user_id: str) -> bool:
        """Take a user's role away; whether there was one."""
        cursor = await self._write(lambda c: c.execute(
            "DELETE FROM members WHERE doc_id = ? AND user_id = ?", (doc_id, user_id)))
        return cursor.rowcount > 0

    # op log and snapshots

    async def head(self, doc_id: str) -> int:
        """The number of committed ops of the document."""
        row = await self._read(lambda c: c.execute(
            "SELECT head FROM documents WHERE id = ?", (doc_id,)).fetchone())
        return row[0] if row else 0

    async def heads(self, doc_ids: list[str]) -> dict[str, int]:
        """The heads of several documents in one query."""
        if not doc_ids:
            return {}
        marks = ",".join("?" * len(doc_ids))
        rows = await self._read(lambda c: c.execute(
            f"SELECT id, head FROM documents WHERE id IN ({marks})", doc_ids).fetchall())
        return dict(rows)

    async def append_ops(self, doc_id: str, ops: list[CommittedOp]) -> None:
        """Append consecutive ops durably; ``VersionConflict`` if a version is taken.

        Appends of all documents that arrive while a commit is running share the next
        transaction (one fsync for many committers); each keeps its own savepoint, so one
        document's conflict does not undo another's ops.
        """
        request = _Append(doc_id, [
            (doc_id, op.version, op.user_id, op.client_id, op.seq,
             json.dumps(op.delta, ensure_ascii=False, separators=(",", ":")), op.created_at)
            for op in ops
        ], ops[-1].version + 1, ops[-1].created_at)
        self._appends.append(request)
        if self._appending:
            await request.done.wait()
        else:
            self._appending = True
            try:
                while self._appends:
                    batch, self._appends = self._appends, []
                    try:
                        await self._write(partial(_append_batch, batch))
                    except Unavailable as exc:
                        for queued in batch:
                            queued.error = exc
                    for queued in batch:
                        queued.done.set()
            finally:
                self._appending = False
                for queued in self._appends:  # only when the leader was cancelled
                    queued.error = Unavailable("the commit was interrupted")
                    queued.done.set()
                self._appends = []
        if request.error is not None:
            raise request.error

    async def read_ops(self, doc_id: str, from_version: int, to_version: int) -> list[CommittedOp]:
        """Committed ops with ``from_version <= version < to_version``, in order."""
        rows = await self._read(lambda c: c.execute(
            "SELECT version, delta, user_id, client_id, seq, created_at FROM ops"
            " WHERE doc_id = ? AND version >= ? AND version < ? ORDER BY version",
            (doc_id, from_version, to_version)).fetchall())
        return [CommittedOp(doc_id, v, json.loads(d), u, cl, s, t) for v, d, u, cl, s, t in rows]

    async def committed_seq(
        self, doc_id: str, user_id: str, client_id: str
    ) -> tuple[int, int] | None:
        """The highest committed (seq, version) of this (user, client) on the document."""
        row = await self._read(lambda c: c.execute(
            "SELECT seq, version FROM ops WHERE doc_id = ? AND user_id = ? AND client_id = ?"
            " ORDER BY seq DESC LIMIT 1", (doc_id, user_id, client_id)).fetchone())
        return (row[0], row[1]) if row else None

    async def version_of_seq(
        self, doc_id: str, user_id: str, client_id: str, seq: int
    ) -> int | None:
        """The version at which (user, client, seq) was committed, if it was."""
        row = await self._read(lambda c: c.execute(
            "SELECT version FROM ops WHERE doc_id = ? AND user_id = ? AND client_id = ?"
            " AND seq = ?", (doc_id, user_id, client_id, seq)).fetchone())
        return row[0] if row else None

    async def latest_snapshot(self, doc_id: str, at_most: int | None = None) -> Snapshot:
        """The newest snapshot at or below ``at_most`` (version 0 always exists)."""
        limit = at_most if at_most is not None else 2**62
        row = await self._read(lambda c: c.execute(
            "SELECT version, content FROM snapshots WHERE doc_id = ? AND version <= ?"
            " ORDER BY version DESC LIMIT 1", (doc_id, limit)).fetchone())
        if row is None:
            raise Unavailable(f"document {doc_id} has no snapshot")
        return Snapshot(row[0], json.loads(row[1]))

    async def save_snapshot(self, doc_id: str, snapshot: Snapshot) -> None:
        """Store a snapshot (idempotent)."""
        content_json = json.dumps(snapshot.content, ensure_ascii=False, separators=(",", ":"))
        await self._write(lambda c: c.execute(
            "INSERT OR IGNORE INTO snapshots VALUES (?, ?, ?)",
            (doc_id, snapshot.version, content_json)))


def encode_cursor(updated_at: float, doc_id: str) -> str:
    """An opaque pagination cursor for ``list_documents``."""
    raw = json.dumps([updated_at, doc_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str] | None:
    """The position an opaque cursor points after, or ``None`` if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        updated_at, doc_id = json.loads(raw)
        return float(updated_at), str(doc_id)
    except (ValueError, TypeError):
        return None
