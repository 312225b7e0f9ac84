"""Invitations on SQLite: roles waiting for an email address that has no account yet."""

from __future__ import annotations

import sqlite3
import time

from editor.events import shapes
from editor.store.protocols import Invitation
from editor.store.sqlite.db import SqliteDatabase, add_events


class SqliteInvitations(SqliteDatabase):
    """``Invitations`` on SQLite."""

    async def invite(self, doc_id: str, email: str, role: str, invited_by: str) -> bool:
        """Invite ``email`` with ``role`` (or change its role); whether it is new."""
        now = time.time()

        def put(c: sqlite3.Connection) -> bool:
            known = c.execute("SELECT 1 FROM invitations WHERE doc_id = ? AND email_key = ?",
                              (doc_id, email.casefold())).fetchone()
            c.execute("INSERT INTO invitations VALUES (?, ?, ?, ?, ?, ?)"
                      " ON CONFLICT (doc_id, email_key) DO UPDATE SET role = excluded.role",
                      (doc_id, email.casefold(), email, role, invited_by, now))
            return known is None

        return await self._write(put)

    async def invitations(self, doc_id: str) -> list[Invitation]:
        """The document's pending invitations, by email."""
        rows = await self._read(lambda c: c.execute(
            "SELECT doc_id, email, role, invited_by, created_at FROM invitations"
            " WHERE doc_id = ? ORDER BY email_key", (doc_id,)).fetchall())
        return [Invitation(*row) for row in rows]

    async def revoke_invitation(self, doc_id: str, email: str) -> bool:
        """Withdraw the invitation of ``email``; whether there was one."""
        removed = await self._write(lambda c: c.execute(
            "DELETE FROM invitations WHERE doc_id = ? AND email_key = ?",
            (doc_id, email.casefold())).rowcount)
        return removed > 0

    async def accept_invitations(self, user_id: str, email: str) -> list[tuple[str, str]]:
        """Turn the email's invitations on live documents into roles, in one transaction."""
        now = time.time()

        def accept(c: sqlite3.Connection) -> list[tuple[str, str]]:
            rows = c.execute(
                "SELECT i.doc_id, i.role FROM invitations i JOIN documents d ON d.id = i.doc_id"
                " WHERE i.email_key = ? AND d.deleted_at IS NULL ORDER BY i.created_at",
                (email.casefold(),)).fetchall()
            granted = []
            for doc_id, role in rows:
                cursor = c.execute("INSERT OR IGNORE INTO members VALUES (?, ?, ?)",
                                   (doc_id, user_id, role))
                if cursor.rowcount:
                    granted.append((doc_id, role))
            add_events(c, [shapes.member_changed(doc_id, user_id, role, now)
                           for doc_id, role in granted])
            c.execute("DELETE FROM invitations WHERE email_key = ?", (email.casefold(),))
            return granted

        return await self._write(accept)
