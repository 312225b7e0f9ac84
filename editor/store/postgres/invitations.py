"""Invitations on PostgreSQL: roles waiting for an email address that has no account yet."""

from __future__ import annotations

from editor.events import shapes
from editor.store.postgres.db import Connection, PostgresDatabase, add_events
from editor.store.postgres.documents import now_s
from editor.store.protocols import Invitation


class PostgresInvitations(PostgresDatabase):
    """``Invitations`` on PostgreSQL."""

    async def invite(self, doc_id: str, email: str, role: str, invited_by: str) -> bool:
        """Invite ``email`` with ``role`` (or change its role); whether it is new."""
        now = now_s()
        # xmax = 0 only on a freshly inserted row, not on one the conflict updated.
        inserted = await self._write(lambda c: c.fetchval(
            "INSERT INTO invitations (doc_id, email_key, email, role, invited_by, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (doc_id, email_key)"
            " DO UPDATE SET role = excluded.role RETURNING xmax = 0",
            doc_id, email.casefold(), email, role, invited_by, now), transaction=False)
        return bool(inserted)

    async def invitations(self, doc_id: str) -> list[Invitation]:
        """The document's pending invitations, by email."""
        rows = await self._read(lambda c: c.fetch(
            "SELECT doc_id, email, role, invited_by, created_at FROM invitations"
            " WHERE doc_id = $1 ORDER BY email_key", doc_id))
        return [Invitation(row["doc_id"], row["email"], row["role"], row["invited_by"],
                           row["created_at"]) for row in rows]

    async def revoke_invitation(self, doc_id: str, email: str) -> bool:
        """Withdraw the invitation of ``email``; whether there was one."""
        removed = await self._write(lambda c: c.fetchval(
            "DELETE FROM invitations WHERE doc_id = $1 AND email_key = $2 RETURNING 1",
            doc_id, email.casefold()), transaction=False)
        return removed is not None

    async def accept_invitations(self, user_id: str, email: str) -> list[tuple[str, str]]:
        """Turn the email's invitations on live documents into roles, in one transaction."""
        now = now_s()

        async def accept(c: Connection) -> list[tuple[str, str]]:
            # The invitations go in any case (also those of deleted documents); the roles
            # come only where the user had none.
            rows = await c.fetch(
                "WITH taken AS (DELETE FROM invitations WHERE email_key = $1"
                " RETURNING doc_id, role, created_at)"
                " INSERT INTO members (doc_id, user_id, role)"
                " SELECT t.doc_id, $2, t.role FROM taken t JOIN documents d ON d.id = t.doc_id"
                " WHERE d.deleted_at IS NULL ORDER BY t.created_at"
                " ON CONFLICT (doc_id, user_id) DO NOTHING RETURNING doc_id, role",
                email.casefold(), user_id)
            granted = [(row["doc_id"], row["role"]) for row in rows]
            await add_events(c, [shapes.member_changed(doc_id, user_id, role, now)
                                 for doc_id, role in granted])
            return granted

        return await self._write(accept)
