"""The outbox on PostgreSQL: domain events in position order, and the op log's relay marks.

Positions come from an identity column, allocated at insert, so a transaction that commits
later may hold a smaller position than one already relayed: that event is still relayed
(published rows are deleted, not passed by a watermark), only later than its position.
"""

from __future__ import annotations

from collections.abc import Mapping

from editor.store.postgres.db import Connection, PostgresDatabase
from editor.store.records import OutboxEntry


class PostgresOutbox(PostgresDatabase):
    """``Outbox`` on PostgreSQL."""

    async def outbox_pending(self, limit: int) -> list[OutboxEntry]:
        """The oldest events not yet marked published, in commit order."""
        rows = await self._read(lambda c: c.fetch(
            "SELECT position, topic, key, body FROM outbox ORDER BY position LIMIT $1", limit))
        return [OutboxEntry(r["position"], r["topic"], r["key"], r["body"]) for r in rows]

    async def outbox_published(self, up_to_position: int) -> None:
        """Remove every event up to ``up_to_position``: they reached the event stream."""
        async def delete(c: Connection) -> None:
            await c.execute("DELETE FROM outbox WHERE position <= $1", up_to_position)

        await self._write(delete, transaction=False)

    async def outbox_size(self) -> int:
        """How many events wait to be published."""
        count = await self._read(lambda c: c.fetchval("SELECT count(*) FROM outbox"))
        return int(count)

    async def ops_unrelayed(self, limit: int) -> list[tuple[str, int, int]]:
        """Documents whose op log is ahead of the relay: (doc_id, relayed_version, head)."""
        rows = await self._read(lambda c: c.fetch(
            "SELECT id, relayed_head, head FROM documents WHERE head > relayed_head"
            " ORDER BY updated_at LIMIT $1", limit))
        return [(r["id"], r["relayed_head"], r["head"]) for r in rows]

    async def ops_relayed(self, marks: Mapping[str, int]) -> None:
        """Record, in one statement, how far each document's ops reached the stream."""
        if not marks:
            return
        doc_ids, versions = list(marks), list(marks.values())

        async def mark(c: Connection) -> None:
            await c.execute(
                "UPDATE documents d SET relayed_head = greatest(d.relayed_head, m.version)"
                " FROM unnest($1::text[], $2::bigint[]) AS m(doc_id, version)"
                " WHERE d.id = m.doc_id", doc_ids, versions)

        await self._write(mark, transaction=False)

    async def claim_relay(self, holder: str, ttl_s: float, now: float) -> bool:
        """Whether ``holder`` holds the relay lease (renewed, or taken when free/expired)."""
        holder_now = await self._write(lambda c: c.fetchval(
            "INSERT INTO relay_lease (name, holder, until) VALUES ('outbox', $1, $2)"
            " ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, until = EXCLUDED.until"
            " WHERE relay_lease.holder = EXCLUDED.holder OR relay_lease.until < $3"
            " RETURNING holder", holder, now + ttl_s, now), transaction=False)
        return holder_now is not None
