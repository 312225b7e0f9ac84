"""The JSON size of content, as the store writes it: compact, ``ensure_ascii=False``, UTF-8."""

from __future__ import annotations

import json
from typing import Any

from editor.ot.attributes import Attrs

__all__ = ["MAX_CONTENT_BYTES", "attrs_framing_bytes", "json_bytes", "op_json_bytes"]

MAX_CONTENT_BYTES = 5 * 1024 * 1024

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_INSERT_FRAMING = len('{"insert":""}')
_ATTRIBUTES_KEY = len(',"attributes":')


def json_bytes(value: Any) -> int:
    """UTF-8 size of ``value`` serialised as the store does."""
    text = _encode(value)
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def op_json_bytes(op: dict[str, Any]) -> int:
    """UTF-8 size of one op's JSON."""
    return json_bytes(op)


def attrs_framing_bytes(attrs: Attrs) -> int:
    """Bytes of a string insert op besides its text: ``{"insert":""}`` plus its attributes."""
    if not attrs:
        return _INSERT_FRAMING
    return _INSERT_FRAMING + _ATTRIBUTES_KEY + json_bytes(attrs)
