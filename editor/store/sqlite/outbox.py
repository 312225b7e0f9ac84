"""The outbox on SQLite: domain events in commit order, and the op log's relay marks."""

from __future__ import annotations

import json
from collections.abc import Mapping

from editor.store.records import OutboxEntry
from editor.store.sqlite.db import SqliteDatabase


class SqliteOutbox(SqliteDatabase):
    """``Outbox`` on SQLite."""

    async def outbox_pending(self, limit: int) -> list[OutboxEntry]:
        """The oldest events not yet marked published, in commit order."""
        rows = await self._read(lambda c: c.execute(
            "SELECT position, topic, key, body FROM outbox ORDER BY position LIMIT ?",
            (limit,)).fetchall())
        return [OutboxEntry(p, t, k, json.loads(b)) for p, t, k, b in rows]

    async def outbox_published(self, up_to_position: int) -> None:
        """Remove every event up to ``up_to_position``: they reached the event stream."""
        await self._write(lambda c: c.execute(
            "DELETE FROM outbox WHERE position <= ?", (up_to_position,)))

    async def outbox_size(self) -> int:
        """How many events wait to be published."""
        row = await self._read(lambda c: c.execute("SELECT count(*) FROM outbox").fetchone())
        return int(row[0])

    async def ops_unrelayed(self, limit: int) -> list[tuple[str, int, int]]:
        """Documents whose op log is ahead of the relay: (doc_id, relayed_version, head)."""
        rows = await self._read(lambda c: c.execute(
            "SELECT id, relayed_head, head FROM documents WHERE head > relayed_head"
            " ORDER BY updated_at LIMIT ?", (limit,)).fetchall())
        return [(d, r, h) for d, r, h in rows]

    async def ops_relayed(self, marks: Mapping[str, int]) -> None:
        """Record, in one transaction, how far each document's ops reached the stream."""
        rows = [(version, doc_id) for doc_id, version in marks.items()]
        if rows:
            await self._write(lambda c: c.executemany(
                "UPDATE documents SET relayed_head = max(relayed_head, ?) WHERE id = ?", rows))

    async def claim_relay(self, holder: str, ttl_s: float, now: float) -> bool:
        """Whether ``holder`` holds the relay lease (renewed, or taken when free/expired)."""
        row = await self._write(lambda c: c.execute(
            "INSERT INTO relay_lease (name, holder, until) VALUES ('outbox', ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until"
            " WHERE relay_lease.holder = excluded.holder OR relay_lease.until < ?"
            " RETURNING holder", (holder, now + ttl_s, now)).fetchone())
        return row is not None
