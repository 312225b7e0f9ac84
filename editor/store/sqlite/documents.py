"""Documents and members on SQLite; each change writes its document event to the outbox."""

from __future__ import annotations

import sqlite3
import time
import uuid
from typing import Any

from editor.events import shapes
from editor.store.records import Delta, DocumentMeta, Member
from editor.store.sqlite.db import SqliteDatabase, add_events, dumps

_DOC_COLUMNS = "id, title, owner_id, head, created_at, updated_at, deleted_at"


def _meta(row: tuple[Any, ...]) -> DocumentMeta:
    return DocumentMeta(
        id=row[0], title=row[1], owner_id=row[2], head=row[3],
        created_at=row[4], updated_at=row[5], deleted=row[6] is not None,
    )


def _document_event(c: sqlite3.Connection, kind: str, doc_id: str, now: float) -> None:
    row = c.execute("SELECT owner_id, title FROM documents WHERE id = ?", (doc_id,)).fetchone()
    if row is not None:
        add_events(c, [shapes.document_changed(kind, doc_id, row[0], row[1], now)])


class SqliteDocuments(SqliteDatabase):
    """``Documents`` on SQLite."""

    async def create_document(self, owner_id: str, title: str, content: Delta) -> DocumentMeta:
        """Create a document at version 0 with ``content``, its owner as member."""
        now = time.time()
        meta = DocumentMeta(uuid.uuid4().hex, title, owner_id, 0, now, now, False)

        def insert(c: sqlite3.Connection) -> None:
            c.execute(
                "INSERT INTO documents (id, title, owner_id, head, created_at, updated_at)"
                " VALUES (?, ?, ?, 0, ?, ?)", (meta.id, title, owner_id, now, now))
            c.execute("INSERT INTO members VALUES (?, ?, 'owner')", (meta.id, owner_id))
            c.execute("INSERT INTO snapshots VALUES (?, 0, ?)", (meta.id, dumps(content)))
            add_events(c, [
                shapes.document_changed("document.created", meta.id, owner_id, title, now),
                shapes.member_changed(meta.id, owner_id, "owner", now),
            ])

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
        now = time.time()

        def rename(c: sqlite3.Connection) -> None:
            c.execute("UPDATE documents SET title = ?, updated_at = ? WHERE id = ?",
                      (title, now, doc_id))
            _document_event(c, "document.updated", doc_id, now)

        await self._write(rename)

    async def delete_document(self, doc_id: str) -> None:
        """Soft-delete a document."""
        now = time.time()

        def delete(c: sqlite3.Connection) -> None:
            cursor = c.execute(
                "UPDATE documents SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
                (now, doc_id))
            if cursor.rowcount:
                _document_event(c, "document.deleted", doc_id, now)

        await self._write(delete)

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
        now = time.time()

        def put(c: sqlite3.Connection) -> None:
            c.execute("INSERT INTO members VALUES (?, ?, ?)"
                      " ON CONFLICT (doc_id, user_id) DO UPDATE SET role = excluded.role",
                      (doc_id, user_id, role))
            add_events(c, [shapes.member_changed(doc_id, user_id, role, now)])

        await self._write(put)

    async def remove_member(self, doc_id: str, user_id: str) -> bool:
        """Take a user's role away; whether there was one."""
        now = time.time()

        def remove(c: sqlite3.Connection) -> bool:
            cursor = c.execute("DELETE FROM members WHERE doc_id = ? AND user_id = ?",
                               (doc_id, user_id))
            if cursor.rowcount:
                add_events(c, [shapes.member_changed(doc_id, user_id, None, now)])
            return cursor.rowcount > 0

        return await self._write(remove)
