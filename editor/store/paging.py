"""Opaque pagination cursors for document lists, the same for every backend."""

from __future__ import annotations

import base64
import json


def encode_cursor(updated_at: float, doc_id: str) -> str:
    """An opaque cursor pointing after the document (``updated_at``, ``doc_id``)."""
    raw = json.dumps([updated_at, doc_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str] | None:
    """The position an opaque cursor points after, or ``None`` if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        updated_at, doc_id = json.loads(raw)
        return float(updated_at), str(doc_id)
    except (ValueError, TypeError):
        return None
