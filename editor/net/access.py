"""Who may do what to a document over REST: the caller's role on it, or 404 / 403."""

from __future__ import annotations

from editor.errors import Forbidden, NotFound
from editor.net.plumbing import services
from editor.store import DocumentMeta, User


async def document_with_role(doc_id: str, user: User) -> tuple[DocumentMeta, str]:
    """The live document and the user's role on it, or 404 (also when the user has none)."""
    store = services().store
    meta = await store.document(doc_id)
    role = await store.role_of(doc_id, user.id) if meta and not meta.deleted else None
    if meta is None or role is None:
        raise NotFound("no such document")
    return meta, role


def require(role: str, *allowed: str) -> None:
    """403 unless ``role`` is one of ``allowed``."""
    if role not in allowed:
        raise Forbidden(f"this needs the role {' or '.join(allowed)}; you are {role}")
