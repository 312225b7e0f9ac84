"""The op log and snapshots on SQLite, with group commit across documents."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import trio

from editor.events.shapes import Event
from editor.store.records import (
    ClientKey,
    ClientMark,
    CommitRead,
    CommittedOp,
    SeqKey,
    Snapshot,
    Unavailable,
    VersionConflict,
)
from editor.store.sqlite.db import SqliteDatabase, add_events, dumps

_OP_COLUMNS = "version, delta, user_id, client_id, seq, created_at"


@dataclass(eq=False)
class _Append:
    """One committer's ops waiting for the shared op-log transaction."""

    doc_id: str
    rows: list[tuple[Any, ...]]
    events: Sequence[Event]
    first_version: int
    new_head: int
    updated_at: float
    done: trio.Event = field(default_factory=trio.Event)
    error: Exception | None = None


def _append_batch(batch: list[_Append], conn: sqlite3.Connection) -> None:
    for request in batch:
        conn.execute("SAVEPOINT append")
        row = conn.execute("SELECT head FROM documents WHERE id = ?",
                           (request.doc_id,)).fetchone()
        try:
            if row is None or row[0] != request.first_version:
                raise VersionConflict(f"{request.doc_id}: the head is {row and row[0]},"
                                      f" not {request.first_version}")
            conn.executemany("INSERT INTO ops VALUES (?, ?, ?, ?, ?, ?, ?)", request.rows)
            add_events(conn, request.events)
        except (sqlite3.IntegrityError, VersionConflict) as exc:
            conn.execute("ROLLBACK TO append")
            request.error = exc if isinstance(exc, VersionConflict) else VersionConflict(str(exc))
        else:
            conn.execute("UPDATE documents SET head = ?, updated_at = ? WHERE id = ?",
                         (request.new_head, request.updated_at, request.doc_id))
        conn.execute("RELEASE append")


def _ops(doc_id: str, rows: list[tuple[Any, ...]]) -> list[CommittedOp]:
    return [CommittedOp(doc_id, v, json.loads(d), u, cl, s, t) for v, d, u, cl, s, t in rows]


class SqliteOpLog(SqliteDatabase):
    """``OpLog`` on SQLite."""

    _appends: list[_Append]
    _appending: bool

    async def head(self, doc_id: str) -> int:
        """The number of committed ops of the document."""
        row = await self._read(lambda c: c.execute(
            "SELECT head FROM documents WHERE id = ?", (doc_id,)).fetchone())
        return row[0] if row else 0

    async def heads(self, doc_ids: Collection[str]) -> dict[str, int]:
        """The heads of several documents in one query."""
        ids = list(doc_ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = await self._read(lambda c: c.execute(
            f"SELECT id, head FROM documents WHERE id IN ({marks})", ids).fetchall())
        return dict(rows)

    async def read_for_commit(self, doc_id: str, from_version: int | None,
                              clients: Collection[ClientKey],
                              seqs: Collection[SeqKey]) -> CommitRead:
        """The head, the ops since ``from_version``, the clients' marks and the committed seqs."""
        def read(c: sqlite3.Connection) -> CommitRead:
            row = c.execute("SELECT head FROM documents WHERE id = ?", (doc_id,)).fetchone()
            head = row[0] if row else 0
            ops: list[CommittedOp] = []
            if from_version is not None and from_version < head:
                ops = _ops(doc_id, c.execute(
                    f"SELECT {_OP_COLUMNS} FROM ops WHERE doc_id = ? AND version >= ?"
                    " AND version < ? ORDER BY version", (doc_id, from_version, head)).fetchall())
            marks = {}
            for user_id, client_id in clients:
                found = c.execute(
                    "SELECT seq, version FROM ops WHERE doc_id = ? AND user_id = ?"
                    " AND client_id = ? ORDER BY seq DESC LIMIT 1",
                    (doc_id, user_id, client_id)).fetchone()
                if found is not None:
                    marks[(user_id, client_id)] = ClientMark(found[0], found[1])
            seq_versions = {}
            for user_id, client_id, seq in seqs:
                found = c.execute(
                    "SELECT version FROM ops WHERE doc_id = ? AND user_id = ? AND client_id = ?"
                    " AND seq = ?", (doc_id, user_id, client_id, seq)).fetchone()
                if found is not None:
                    seq_versions[(user_id, client_id, seq)] = found[0]
            return CommitRead(head, ops, marks, seq_versions)

        return await self._read_consistent(read)

    async def append(self, doc_id: str, ops: Sequence[CommittedOp],
                     events: Sequence[Event] = ()) -> None:
        """Append consecutive ops at the head durably; ``VersionConflict`` if it moved.

        Appends of all documents that arrive while a commit is running share the next
        transaction (one fsync for many committers); each keeps its own savepoint, so one
        document's conflict does not undo another's ops.
        """
        request = _Append(doc_id, [
            (doc_id, op.version, op.user_id, op.client_id, op.seq, dumps(op.delta),
             op.created_at) for op in ops
        ], events, ops[0].version, ops[-1].version + 1, ops[-1].created_at)
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

    async def read_ops(self, doc_id: str, from_version: int, to_version: int
                       ) -> list[CommittedOp]:
        """Committed ops with ``from_version <= version < to_version``, in order."""
        rows = await self._read(lambda c: c.execute(
            f"SELECT {_OP_COLUMNS} FROM ops WHERE doc_id = ? AND version >= ? AND version < ?"
            " ORDER BY version", (doc_id, from_version, to_version)).fetchall())
        return _ops(doc_id, rows)

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
        content_json = dumps(snapshot.content)
        await self._write(lambda c: c.execute(
            "INSERT OR IGNORE INTO snapshots VALUES (?, ?, ?)",
            (doc_id, snapshot.version, content_json)))

    async def follow_commits(self, on_commit: Callable[[str, int], None]) -> None:
        """SQLite cannot notify other processes: return at once (readers poll ``heads``)."""
