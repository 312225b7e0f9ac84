"""The op log and snapshots on PostgreSQL: one round trip per committed batch.

``append`` is one statement: it moves the document's head from the expected version (the
row lock orders committers of one document across replicas), inserts every op from
``unnest`` arrays and writes the batch's events to the outbox. No row moved means another
committer won: ``VersionConflict``. A lost connection or a timeout after the statement was
sent leaves the outcome unknown: ``CommitUnknown``, settled by the dedup keys.

Group commit across documents: appends that arrive while one is being written go together
in the next round trip, one statement for all their documents (each moves or not on its own,
so one document's conflict is its own). The statement is atomic: when it fails on a
constraint (a dedup key another replica committed), nothing of it was written and each
append is retried alone, so the error reaches its own committer only.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import trio

from editor.events.shapes import Event
from editor.store.postgres.db import (
    CONNECTION_ERRORS,
    Connection,
    PostgresDatabase,
    dumps,
    event_columns,
)
from editor.store.records import (
    ClientKey,
    ClientMark,
    CommitRead,
    CommittedOp,
    CommitUnknown,
    SeqKey,
    Snapshot,
    Unavailable,
    VersionConflict,
)

_APPEND = """
WITH moved AS (
    UPDATE documents SET head = $3, updated_at = $4
    WHERE id = $1 AND head = $2
    RETURNING id
), appended AS (
    INSERT INTO ops (doc_id, version, user_id, client_id, seq, delta, created_at)
    SELECT moved.id, o.version, o.user_id, o.client_id, o.seq, o.delta, o.created_at
    FROM moved, unnest($5::bigint[], $6::text[], $7::text[], $8::bigint[], $9::text[],
                       $10::timestamptz[]) AS o(version, user_id, client_id, seq, delta,
                                                created_at)
    RETURNING 1
), emitted AS (
    INSERT INTO outbox (topic, key, body)
    SELECT e.topic, e.key, e.body
    FROM moved, unnest($11::text[], $12::text[], $13::jsonb[]) WITH ORDINALITY
                AS e(topic, key, body, n)
    ORDER BY e.n
    RETURNING 1
)
SELECT count(*) FROM moved,
    LATERAL pg_notify('editor_commits', moved.id || ' ' || $3::text || ' ' || $14) AS n
"""

# The same for the batches of several documents (each at most once): a document whose head
# moved gets its ops and events; one whose head did not is left alone (its conflict).
_APPEND_MANY = """
WITH batch AS (
    SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::timestamptz[])
        AS b(id, first_version, new_head, updated_at)
), locked AS MATERIALIZED (
    -- In id order, so two replicas locking overlapping documents cannot deadlock.
    SELECT d.id FROM documents d JOIN batch b ON b.id = d.id ORDER BY d.id FOR UPDATE OF d
), moved AS (
    UPDATE documents d SET head = b.new_head, updated_at = b.updated_at
    FROM batch b, locked l WHERE d.id = b.id AND l.id = d.id AND d.head = b.first_version
    RETURNING d.id, d.head
), appended AS (
    INSERT INTO ops (doc_id, version, user_id, client_id, seq, delta, created_at)
    SELECT o.doc_id, o.version, o.user_id, o.client_id, o.seq, o.delta, o.created_at
    FROM unnest($5::text[], $6::bigint[], $7::text[], $8::text[], $9::bigint[], $10::text[],
                $11::timestamptz[]) AS o(doc_id, version, user_id, client_id, seq, delta,
                                         created_at)
    WHERE o.doc_id IN (SELECT id FROM moved)
    RETURNING 1
), emitted AS (
    INSERT INTO outbox (topic, key, body)
    SELECT e.topic, e.key, e.body
    FROM unnest($12::text[], $13::text[], $14::text[], $15::jsonb[]) WITH ORDINALITY
        AS e(doc_id, topic, key, body, n)
    WHERE e.doc_id IN (SELECT id FROM moved)
    ORDER BY e.n
    RETURNING 1
)
SELECT moved.id FROM moved,
    LATERAL pg_notify('editor_commits', moved.id || ' ' || moved.head::text || ' ' || $16) AS n
"""

# One statement, so one snapshot: the head, the ops since a version, the marks of some
# clients and the versions of some dedup keys, told apart by ``kind``.
_READ_FOR_COMMIT = """
WITH d AS (SELECT coalesce((SELECT head FROM documents WHERE id = $1), 0) AS head)
SELECT 0 AS kind, d.head AS version, NULL::text AS user_id, NULL::text AS client_id,
       NULL::bigint AS seq, NULL::text AS delta, NULL::timestamptz AS created_at
FROM d
UNION ALL
SELECT 1, o.version, o.user_id, o.client_id, o.seq, o.delta, o.created_at
FROM ops o, d
WHERE $2::bigint IS NOT NULL AND o.doc_id = $1 AND o.version >= $2 AND o.version < d.head
UNION ALL
SELECT 2, m.version, c.user_id, c.client_id, m.seq, NULL, NULL
FROM unnest($3::text[], $4::text[]) AS c(user_id, client_id)
CROSS JOIN LATERAL (
    SELECT o.seq, o.version FROM ops o
    WHERE o.doc_id = $1 AND o.user_id = c.user_id AND o.client_id = c.client_id
    ORDER BY o.seq DESC LIMIT 1
) m
UNION ALL
SELECT 3, o.version, k.user_id, k.client_id, k.seq, NULL, NULL
FROM unnest($5::text[], $6::text[], $7::bigint[]) AS k(user_id, client_id, seq)
JOIN ops o ON o.doc_id = $1 AND o.user_id = k.user_id AND o.client_id = k.client_id
          AND o.seq = k.seq
"""

_READ_OPS = """
SELECT version, delta, user_id, client_id, seq, created_at FROM ops
WHERE doc_id = $1 AND version >= $2 AND version < $3 ORDER BY version
"""


def _op(doc_id: str, row: Any) -> CommittedOp:
    return CommittedOp(doc_id, row["version"], json.loads(row["delta"]), row["user_id"],
                       row["client_id"], row["seq"], row["created_at"])


def _op_columns(ops: Sequence[CommittedOp]) -> tuple[list[Any], ...]:
    """The rows of ``ops`` as parallel arrays for ``unnest``: version, user_id, client_id,
    seq, delta, created_at."""
    return ([op.version for op in ops], [op.user_id for op in ops],
            [op.client_id for op in ops], [op.seq for op in ops],
            [dumps(op.delta) for op in ops], [op.created_at for op in ops])


class PostgresOpLog(PostgresDatabase):
    """``OpLog`` on PostgreSQL."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._appends = _AppendQueue()

    async def head(self, doc_id: str) -> int:
        """The number of committed ops of the document."""
        head = await self._read(lambda c: c.fetchval(
            "SELECT head FROM documents WHERE id = $1", doc_id))
        return int(head or 0)

    async def heads(self, doc_ids: Collection[str]) -> dict[str, int]:
        """The heads of several documents in one query."""
        ids = list(doc_ids)
        if not ids:
            return {}
        rows = await self._read(lambda c: c.fetch(
            "SELECT id, head FROM documents WHERE id = ANY($1::text[])", ids))
        return {row["id"]: row["head"] for row in rows}

    async def read_for_commit(self, doc_id: str, from_version: int | None,
                              clients: Collection[ClientKey],
                              seqs: Collection[SeqKey]) -> CommitRead:
        """The head, the ops since ``from_version``, the clients' marks and the committed seqs."""
        client_list, seq_list = list(clients), list(seqs)
        rows = await self._read(lambda c: c.fetch(
            _READ_FOR_COMMIT, doc_id, from_version,
            [u for u, _ in client_list], [cl for _, cl in client_list],
            [u for u, _, _ in seq_list], [cl for _, cl, _ in seq_list],
            [s for _, _, s in seq_list]))
        head = 0
        ops: list[CommittedOp] = []
        marks: dict[ClientKey, ClientMark] = {}
        seq_versions: dict[SeqKey, int] = {}
        for row in rows:
            kind = row["kind"]
            if kind == 0:
                head = row["version"]
            elif kind == 1:
                ops.append(_op(doc_id, row))
            elif kind == 2:
                marks[(row["user_id"], row["client_id"])] = ClientMark(row["seq"],
                                                                       row["version"])
            else:
                seq_versions[(row["user_id"], row["client_id"], row["seq"])] = row["version"]
        ops.sort(key=lambda op: op.version)
        return CommitRead(head, ops, marks, seq_versions)

    async def append(self, doc_id: str, ops: Sequence[CommittedOp],
                     events: Sequence[Event] = ()) -> None:
        """Append consecutive ops at the head with their events, in one round trip shared
        with the appends of other documents that arrive meanwhile.

        ``VersionConflict`` if the head is not ``ops[0].version`` (another committer won);
        ``CommitUnknown`` if the connection failed or timed out once the batch was sent.
        Not cancellable part-way (like every write): a round finishes or fails, bounded by
        the command timeout.
        """
        request = _Append(doc_id, ops, events)
        queue = self._appends
        queue.waiting.append(request)
        with trio.CancelScope(shield=True):
            if queue.writing:
                await request.turn.wait()  # done by another round, or this one's turn
            if not request.done:
                await self._lead(queue)
        if request.error is not None:
            raise request.error

    async def _lead(self, queue: _AppendQueue) -> None:
        """Write one round of what is queued (a document once), then hand over."""
        queue.writing = True
        batch: list[_Append] = []
        later: list[_Append] = []
        seen: set[str] = set()
        for queued in queue.waiting:
            (later if queued.doc_id in seen else batch).append(queued)
            seen.add(queued.doc_id)
        queue.waiting = later
        try:
            if len(batch) == 1:
                await self._append_one(batch[0])
            else:
                await self._append_many(batch)
        except BaseException as exc:
            for written in batch:  # a bug, not a database answer: nobody may assume success
                written.error = written.error or Unavailable(f"the commit failed: {exc!r}")
            raise
        finally:
            for written in batch:
                written.done = True
                written.turn.set()
            if queue.waiting:
                queue.waiting[0].turn.set()  # the next round is its to write
            else:
                queue.writing = False

    async def _append_one(self, request: _Append) -> None:
        """The single-document statement; the outcome goes into ``request.error``."""
        doc_id, ops = request.doc_id, request.ops
        args = (
            doc_id, ops[0].version, ops[-1].version + 1, ops[-1].created_at,
            *_op_columns(ops), *event_columns(request.events), self.origin,
        )
        sent = False

        async def run() -> int:
            nonlocal sent
            async with self._pool.acquire() as conn:
                sent = True
                moved: int = await conn.fetchval(_APPEND, *args)
                return moved

        try:
            moved = await self.bridge(run, shield=True)
        except Unavailable as exc:
            request.error = _append_error(request, exc, sent)
            return
        if not moved:
            request.error = VersionConflict(f"{doc_id}: the head is not {ops[0].version}")

    async def _append_many(self, batch: list[_Append]) -> None:
        """One statement for the batches of several documents; alone each on a constraint."""
        ops = [op for request in batch for op in request.ops]
        events = [(request.doc_id, event) for request in batch for event in request.events]
        args = (
            [r.doc_id for r in batch], [r.ops[0].version for r in batch],
            [r.ops[-1].version + 1 for r in batch], [r.ops[-1].created_at for r in batch],
            [op.doc_id for op in ops], *_op_columns(ops),
            [doc_id for doc_id, _ in events], *event_columns([e for _, e in events]),
            self.origin,
        )
        sent = False

        async def run() -> set[str]:
            nonlocal sent
            async with self._pool.acquire() as conn:
                sent = True
                return {row["id"] for row in await conn.fetch(_APPEND_MANY, *args)}

        try:
            moved = await self.bridge(run, shield=True)
        except Unavailable as exc:
            if isinstance(exc.__cause__, asyncpg.PostgresError) and not isinstance(
                    exc.__cause__, CONNECTION_ERRORS):
                for request in batch:  # nothing was written: each on its own
                    await self._append_one(request)
                return
            for request in batch:
                request.error = _append_error(request, exc, sent)
            return
        for request in batch:
            if request.doc_id not in moved:
                request.error = VersionConflict(
                    f"{request.doc_id}: the head is not {request.ops[0].version}")

    async def read_ops(self, doc_id: str, from_version: int, to_version: int
                       ) -> list[CommittedOp]:
        """Committed ops with ``from_version <= version < to_version``, in order.

        From the read replica first, when there is one; a replica that lags behind
        ``to_version`` returns too few ops, and then the primary answers.
        """
        def fetch(c: Connection) -> Awaitable[list[Any]]:
            return c.fetch(_READ_OPS, doc_id, from_version, to_version)

        if self.has_replica:
            rows = await self._read(fetch, replica=True)
            if len(rows) == to_version - from_version:
                return [_op(doc_id, row) for row in rows]
        rows = await self._read(fetch)
        return [_op(doc_id, row) for row in rows]

    async def latest_snapshot(self, doc_id: str, at_most: int | None = None) -> Snapshot:
        """The newest snapshot at or below ``at_most`` (version 0 always exists)."""
        limit = at_most if at_most is not None else 2**62

        def fetch(c: Connection) -> Awaitable[Any]:
            return c.fetchrow("SELECT version, content FROM snapshots WHERE doc_id = $1"
                              " AND version <= $2 ORDER BY version DESC LIMIT 1", doc_id, limit)

        # Snapshots never change: a lagging replica's is older, never wrong; one that has
        # not seen the document yet has none, and then the primary answers.
        row = await self._read(fetch, replica=True) if self.has_replica else None
        if row is None:
            row = await self._read(fetch)
        if row is None:
            raise Unavailable(f"document {doc_id} has no snapshot")
        return Snapshot(row["version"], json.loads(row["content"]))

    async def save_snapshot(self, doc_id: str, snapshot: Snapshot) -> None:
        """Store a snapshot (idempotent)."""
        content_json = dumps(snapshot.content)

        async def save(c: Connection) -> None:
            await c.execute("INSERT INTO snapshots (doc_id, version, content)"
                            " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                            doc_id, snapshot.version, content_json)

        await self._write(save, transaction=False)


@dataclass(eq=False)
class _Append:
    """One committer's batch waiting for a round trip (its own or a shared one)."""

    doc_id: str
    ops: Sequence[CommittedOp]
    events: Sequence[Event]
    turn: trio.Event = field(default_factory=trio.Event)  # written, or this one writes next
    done: bool = False
    error: Exception | None = None


@dataclass
class _AppendQueue:
    """The appends waiting for the next round trip, and whether one is being written."""

    waiting: list[_Append] = field(default_factory=list)
    writing: bool = False


def _append_error(request: _Append, exc: Unavailable, sent: bool) -> Exception:
    """What a failed append statement means for ``request``'s committer."""
    cause, ops = exc.__cause__, request.ops
    if isinstance(cause, asyncpg.UniqueViolationError):
        return VersionConflict(f"{request.doc_id}: {cause}")
    if sent and isinstance(cause, CONNECTION_ERRORS):
        return CommitUnknown(f"{request.doc_id}: the commit of versions {ops[0].version}"
                             f"..{ops[-1].version} may or may not have happened: {cause!r}")
    return exc
