"""REST routes of ``/v1/documents``: create, list, get, rename, delete, history, presence;
members in ``routes_members``, mounted here."""

from __future__ import annotations

import math
from typing import Any

from quart import Blueprint, request

from editor import ot
from editor.errors import BadRequest, InvalidOpError, NotFound, TooLargeError
from editor.events.shapes import rfc3339
from editor.net.access import document_with_role, require
from editor.net.plumbing import current_user, json_body, services, string_field
from editor.net.routes_members import member_routes
from editor.net.wire import op_frame
from editor.ot.validate import holds_lone_surrogate
from editor.store import DocumentMeta
from editor.store.paging import decode_cursor, encode_cursor

document_routes = Blueprint("documents", __name__, url_prefix="/v1/documents")
document_routes.register_blueprint(member_routes)
MAX_TITLE_CHARS = 500
MAX_PAGE = 100
EMPTY_DOCUMENT = [{"insert": "\n"}]


def _meta_json(meta: DocumentMeta, role: str) -> dict[str, Any]:
    return {"id": meta.id, "title": meta.title, "owner_id": meta.owner_id, "role": role,
            "version": meta.head, "created_at": rfc3339(meta.created_at),
            "updated_at": rfc3339(meta.updated_at)}


def _title(body: dict[str, Any]) -> str:
    title = string_field(body, "title", max_chars=MAX_TITLE_CHARS)
    if not title.isprintable():
        raise BadRequest("'title' must not contain control characters", code="validation")
    return title


def _initial_content(value: Any) -> list[dict[str, Any]]:
    """Creation content: a Delta of inserts, or plain text; it must end with a newline."""
    if value is None:
        return list(EMPTY_DOCUMENT)
    if isinstance(value, str):
        value = [{"insert": value if value.endswith("\n") else value + "\n"}]
    if not isinstance(value, list) or any(not isinstance(op, dict) or "insert" not in op
                                          for op in value):
        raise BadRequest("'content' must be text or a Delta made only of inserts",
                         code="validation")
    last = value[-1]["insert"] if value else None
    if not (isinstance(last, str) and last.endswith("\n")):
        value = [*value, {"insert": "\n"}]  # the missing final newline, as for text
    try:
        ot.validate(value, EMPTY_DOCUMENT)
        content = ot.apply(EMPTY_DOCUMENT, value)
    except ot.TooLarge as exc:
        raise TooLargeError(str(exc)) from None
    except ot.InvalidOp as exc:
        raise InvalidOpError(f"'content': {exc}") from None
    # Inserting before the empty document's newline leaves one newline too many.
    return ot.compose(content, [{"retain": ot.length(content) - 1}, {"delete": 1}]) \
        if ot.length(content) > 1 else content


@document_routes.post("")
async def create() -> tuple[dict[str, Any], int]:
    """Create a document owned by the caller."""
    user = await current_user()
    body = await json_body({"title"}, frozenset({"content"}))
    title = _title(body)
    content = _initial_content(body.get("content"))
    meta = await services().store.create_document(user.id, title, content)
    return _meta_json(meta, "owner"), 201


def _cursor(raw: str) -> tuple[float, str]:
    """The position of a cursor from ``encode_cursor``; 400 for anything else."""
    try:
        after = decode_cursor(raw)
    except OverflowError:  # a forged number too big for a float
        after = None
    # A forged NaN or lone surrogate would reach SQLite (empty page, or a 500).
    if after is None or not math.isfinite(after[0]) or holds_lone_surrogate(after[1]):
        raise BadRequest("'cursor' is not a cursor this server gave out", code="validation")
    return after


@document_routes.get("")
async def list_documents() -> dict[str, Any]:
    """The caller's documents, most recently updated first, paginated with a cursor."""
    user = await current_user()
    try:
        limit = int(request.args.get("limit", "50"))
    except ValueError:
        raise BadRequest("'limit' must be an integer", code="validation") from None
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"'limit' must be between 1 and {MAX_PAGE}", code="validation")
    after = _cursor(request.args["cursor"]) if "cursor" in request.args else None
    rows = await services().store.list_documents(user.id, limit + 1, after)
    items = [_meta_json(meta, role) for meta, role in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1][0]
        next_cursor = encode_cursor(last.updated_at, last.id)
    return {"items": items, "next_cursor": next_cursor}


@document_routes.get("/<doc_id>")
async def get(doc_id: str) -> dict[str, Any]:
    """The metadata, content and version of a document."""
    user = await current_user()
    meta, role = await document_with_role(doc_id, user)
    version, content = await services().engine.content(doc_id)
    return {**_meta_json(meta, role), "version": version, "content": content}


@document_routes.patch("/<doc_id>")
async def rename(doc_id: str) -> dict[str, Any]:
    """Change the title (editor or owner)."""
    user = await current_user()
    body = await json_body(set(), frozenset({"title"}))
    meta, role = await document_with_role(doc_id, user)
    require(role, "editor", "owner")
    if "title" in body:
        await services().store.set_title(doc_id, _title(body))
    meta, role = await document_with_role(doc_id, user)
    return _meta_json(meta, role)


@document_routes.delete("/<doc_id>")
async def delete(doc_id: str) -> tuple[str, int]:
    """Soft-delete (owner only); open sessions close with 4404."""
    user = await current_user()
    _, role = await document_with_role(doc_id, user)
    require(role, "owner")
    await services().store.delete_document(doc_id)
    services().engine.document_deleted(doc_id)
    return "", 204


MAX_OPS_PAGE = 1000


def _int_arg(name: str, default: int | None) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"'{name}' must be an integer", code="validation") from None
    if value < 0:
        raise BadRequest(f"'{name}' must not be negative", code="validation")
    return value


@document_routes.get("/<doc_id>/ops")
async def ops(doc_id: str) -> dict[str, Any]:
    """Committed ops as op frames, ``from`` inclusive to ``to`` exclusive, 1,000 at most."""
    user = await current_user()
    await document_with_role(doc_id, user)
    head = await services().store.head(doc_id)
    start = _int_arg("from", 0) or 0
    end = min(_int_arg("to", head) or 0, head, start + MAX_OPS_PAGE)
    rows = await services().store.read_ops(doc_id, start, end) if end > start else []
    return {"ops": [{**op_frame(op), "at": rfc3339(op.created_at)} for op in rows]}


@document_routes.get("/<doc_id>/versions/<int:version>")
async def version_content(doc_id: str, version: int) -> dict[str, Any]:
    """The content as it was at ``version``."""
    user = await current_user()
    await document_with_role(doc_id, user)
    if version > await services().store.head(doc_id):
        raise NotFound(f"version {version} does not exist yet")
    version, content = await services().engine.content(doc_id, version)
    return {"version": version, "content": content}


@document_routes.post("/<doc_id>/restore")
async def restore(doc_id: str) -> dict[str, Any]:
    """Commit one ordinary op that makes the content equal to an earlier version's."""
    user = await current_user()
    body = await json_body({"version"})
    _, role = await document_with_role(doc_id, user)
    require(role, "editor", "owner")
    target = body["version"]
    if type(target) is not int or target < 0:
        raise BadRequest("'version' must be a non-negative integer", code="validation")
    version = await services().engine.restore(doc_id, user.id, target)
    return {"version": version + 1, "restored_from": target}


@document_routes.get("/<doc_id>/presence")
async def presence(doc_id: str) -> list[dict[str, Any]]:
    """The open sessions of the document, on every replica, with their cursors."""
    user = await current_user()
    await document_with_role(doc_id, user)
    return [{"client_id": e.client_id, "user": e.user, "index": e.index, "length": e.length,
             "version": e.version} for e in await services().engine.presence(doc_id)]
