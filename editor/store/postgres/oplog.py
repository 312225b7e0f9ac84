"""The op log and snapshots on PostgreSQL: one round trip per committed batch.

``append`` is one statement: it moves the document's head from the expected version (the
row lock orders committers of one document across replicas), inserts every op from
``unnest`` arrays and writes the batch's events to the outbox. No row moved means another
committer won: ``VersionConflict``. A lost connection or a timeout after the statement was
sent leaves the outcome unknown: ``CommitUnknown``, settled by the dedup keys.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Collection, Sequence
from typing import Any

import asyncpg

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


class PostgresOpLog(PostgresDatabase):
    """``OpLog`` on PostgreSQL."""

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
        """Append consecutive ops at the head with their events, in one round trip.

        ``VersionConflict`` if the head is not ``ops[0].version`` (another committer won);
        ``CommitUnknown`` if the connection failed or timed out once the batch was sent.
        """
        args = (
            doc_id, ops[0].version, ops[-1].version + 1, ops[-1].created_at,
            [op.version for op in ops], [op.user_id for op in ops],
            [op.client_id for op in ops], [op.seq for op in ops],
            [dumps(op.delta) for op in ops], [op.created_at for op in ops],
            *event_columns(events), self.origin,
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
            cause = exc.__cause__
            if isinstance(cause, asyncpg.UniqueViolationError):
                raise VersionConflict(f"{doc_id}: {cause}") from None
            if sent and isinstance(cause, CONNECTION_ERRORS):
                raise CommitUnknown(f"{doc_id}: the commit of versions {ops[0].version}"
                                    f"..{ops[-1].version} may or may not have happened:"
                                    f" {cause!r}") from cause
            raise
        if not moved:
            raise VersionConflict(f"{doc_id}: the head is not {ops[0].version}")

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
