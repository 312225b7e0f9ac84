"""The archive's key layout of PROTOCOL.md §5, and the key rules every backend enforces.

Pure: no I/O. Keys are relative, ``/``-separated paths over ``[A-Za-z0-9._-]`` with no
empty, ``.`` or ``..`` segment, so a key maps to one file under a folder and to one S3
object, and can never name anything outside the archive.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from editor.events.shapes import rfc3339

MAX_KEY_CHARS = 512
_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")


def validate_key(key: str) -> str:
    """``key`` itself if it is a safe archive key, else ``ValueError`` naming the rule."""
    if not key:
        raise ValueError("archive key is empty")
    if len(key) > MAX_KEY_CHARS:
        raise ValueError(f"archive key is longer than {MAX_KEY_CHARS} characters")
    for segment in key.split("/"):
        if not segment:
            raise ValueError(f"archive key {key!r} has an empty segment or is absolute")
        if segment in (".", ".."):
            raise ValueError(f"archive key {key!r} has a {segment!r} segment")
        if not _SEGMENT.fullmatch(segment):
            raise ValueError(f"archive key {key!r} has characters outside [A-Za-z0-9._/-]")
    return key


def validate_prefix(prefix: str) -> str:
    """``prefix`` itself if some valid key could start with it, else ``ValueError``."""
    if prefix:
        # A prefix may end inside a segment or at a "/": check it as a key without the slash.
        validate_key(prefix.removesuffix("/"))
    return prefix


def snapshot_key(doc_id: str, version: int) -> str:
    """``snapshots/{doc_id}/{version}.json``."""
    if version < 0:
        raise ValueError("a snapshot version is never negative")
    return validate_key(f"snapshots/{doc_id}/{version}.json")


def snapshot_body(doc_id: str, version: int, content: list[dict[str, Any]],
                  archived_at_s: float) -> bytes:
    """The snapshot object: ``{"doc_id", "version", "content", "archived_at"}`` as UTF-8 JSON."""
    body = {"doc_id": doc_id, "version": version, "content": content,
            "archived_at": rfc3339(archived_at_s)}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def backup_key(epoch_s: float) -> str:
    """``backups/YYYYMMDDTHHMMSSZ.dump`` for a backup taken at ``epoch_s`` (UTC)."""
    return f"backups/{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(epoch_s))}.dump"
