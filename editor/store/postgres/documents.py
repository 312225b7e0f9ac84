"""Documents and members on PostgreSQL; each change writes its document event to the outbox."""

from __future__ import annotations

import time
import uuid
from typing import Any

from editor.events import shapes
from editor.store.postgres.db import Connection, PostgresDatabase, add_events, dumps, storable
from editor.store.records import Delta, DocumentMeta, Member

_DOC_COLUMNS = "d.id, d.title, d.owner_id, d.head, d.created_at, d.updated_at, d.deleted_at"


def _meta(row: Any) -> DocumentMeta:
    return DocumentMeta(
        id=row["id"], title=row["title"], owner_id=row["owner_id"], head=row["head"],
        created_at=row["created_at"], updated_at=row["updated_at"],
        deleted=row["deleted_at"] is not None,
    )


def now_s() -> float:
    """The time as the database keeps it: epoch seconds to the microsecond."""
    return round(time.time(), 6)


async def _document_event(c: Connection, kind: str, doc_id: str, now: float) -> None:
    row = await c.fetchrow("SELECT owner_id, title FROM documents WHERE id = $1", doc_id)
    if row is not None:
        await add_events(c, [shapes.document_changed(kind, doc_id, row["owner_id"],
                                                     row["title"], now)])


class PostgresDocuments(PostgresDatabase):
    """``Documents`` on PostgreSQL."""

    async def create_document(self, owner_id: str, title: str, content: Delta) -> DocumentMeta:
        """Create a document at version 0 with ``content``, its owner as member."""
        now = now_s()
        meta = DocumentMeta(uuid.uuid4().hex, title, owner_id, 0, now, now, False)
        content_json = dumps(content)

        async def insert(c: Connection) -> None:
            await c.execute(
                "INSERT INTO documents (id, title, owner_id, head, created_at, updated_at)"
                " VALUES ($1, $2, $3, 0, $4, $4)", meta.id, title, owner_id, now)
            await c.execute("INSERT INTO members (doc_id, user_id, role)"
                            " VALUES ($1, $2, 'owner')", meta.id, owner_id)
            await c.execute("INSERT INTO snapshots (doc_id, version, content)"
                            " VALUES ($1, 0, $2)", meta.id, content_json)
            await add_events(c, [
                shapes.document_changed("document.created", meta.id, owner_id, title, now),
                shapes.member_changed(meta.id, owner_id, "owner", now),
            ])

        await self._write(insert)
        return meta

    async def document(self, doc_id: str) -> DocumentMeta | None:
        """The document's metadata (also when soft-deleted), if it exists."""
        if not storable(doc_id):
            return None
        row = await self._read(lambda c: c.fetchrow(
            f"SELECT {_DOC_COLUMNS} FROM documents d WHERE d.id = $1", doc_id))
        return _meta(row) if row else None

    async def list_documents(
        self, user_id: str, limit: int, after: tuple[float, str] | None
    ) -> list[tuple[DocumentMeta, str]]:
        """Live documents the user has a role on, most recently updated first, with the role."""
        sql = (f"SELECT {_DOC_COLUMNS}, m.role FROM documents d JOIN members m ON m.doc_id = d.id"
               " WHERE m.user_id = $1 AND d.deleted_at IS NULL")
        args: list[Any] = [user_id]
        if after is not None:
            sql += " AND (d.updated_at, d.id) < ($3, $4)"
            args += [after[0], after[1]]
        sql += " ORDER BY d.updated_at DESC, d.id DESC LIMIT $2"
        args.insert(1, limit)
        rows = await self._read(lambda c: c.fetch(sql, *args))
        return [(_meta(row), row["role"]) for row in rows]

    async def set_title(self, doc_id: str, title: str) -> None:
        """Rename a document."""
        now = now_s()

        async def rename(c: Connection) -> None:
            await c.execute("UPDATE documents SET title = $1, updated_at = $2 WHERE id = $3",
                            title, now, doc_id)
            await _document_event(c, "document.updated", doc_id, now)

        await self._write(rename)

    async def delete_document(self, doc_id: str) -> None:
        """Soft-delete a document."""
        now = now_s()

        async def delete(c: Connection) -> None:
            deleted = await c.fetchval(
                "UPDATE documents SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL"
                " RETURNING id", now, doc_id)
            if deleted is not None:
                await _document_event(c, "document.deleted", doc_id, now)

        await self._write(delete)

    async def role_of(self, doc_id: str, user_id: str) -> str | None:
        """The user's role on a live document, or ``None``."""
        if not storable(doc_id, user_id):
            return None
        role = await self._read(lambda c: c.fetchval(
            "SELECT m.role FROM members m JOIN documents d ON d.id = m.doc_id"
            " WHERE m.doc_id = $1 AND m.user_id = $2 AND d.deleted_at IS NULL",
            doc_id, user_id))
        return str(role) if role is not None else None

    async def members(self, doc_id: str) -> list[Member]:
        """Everyone with a role on the document."""
        rows = await self._read(lambda c: c.fetch(
            "SELECT u.id, u.email, u.name, m.role FROM members m JOIN users u ON u.id = m.user_id"
            " WHERE m.doc_id = $1 ORDER BY u.email_key", doc_id))
        return [Member(row["id"], row["email"], row["name"], row["role"]) for row in rows]

    async def set_member(self, doc_id: str, user_id: str, role: str) -> None:
        """Give a user a role (insert or update)."""
        now = now_s()

        async def put(c: Connection) -> None:
            await c.execute("INSERT INTO members (doc_id, user_id, role) VALUES ($1, $2, $3)"
                            " ON CONFLICT (doc_id, user_id) DO UPDATE SET role = excluded.role",
                            doc_id, user_id, role)
            await add_events(c, [shapes.member_changed(doc_id, user_id, role, now)])

        await self._write(put)

    async def remove_member(self, doc_id: str, user_id: str) -> bool:
        """Take a user's role away; whether there was one."""
        now = now_s()

        async def remove(c: Connection) -> bool:
            removed = await c.fetchval("DELETE FROM members WHERE doc_id = $1 AND user_id = $2"
                                       " RETURNING user_id", doc_id, user_id)
            if removed is None:
                return False
            await add_events(c, [shapes.member_changed(doc_id, user_id, None, now)])
            return True

        return await self._write(remove)
