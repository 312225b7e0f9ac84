"""Validation of ops against PROTOCOL.md §1, with a precise reason for every rejection.

Rules, in the order they are checked (``op i`` counts from 0):

1. The op is a JSON list; each op is an object with exactly one of ``insert``, ``retain``,
   ``delete`` and, except on a delete, an optional ``attributes``; no other key. No string in
   an op (text, attribute names and values, embeds, keys) holds a lone surrogate: a JSON
   escape like ``\ud800`` gives one, and no UTF-8 frame, database or peer can carry it.
2. ``insert`` is a non-empty string, or an embed: an object with exactly one key whose value
   is JSON (finite numbers only).
3. ``retain`` and ``delete`` are integers > 0 (``true`` is not an integer).
4. ``attributes`` is an object whose values are strings, finite numbers, booleans or null; an
   empty object means no attributes (quill-delta drops it) and is accepted.
5. Against the document: retains and deletes do not reach past its end; nothing is inserted at
   or after its end (after the final newline); no delete covers its last character (the final
   newline); no retain or delete boundary falls inside a surrogate pair.
6. The content after the op is at most ``MAX_CONTENT_BYTES`` of JSON (``TooLarge``).

The empty op ``[]`` is valid and changes nothing, as in quill-delta.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from editor.ot import utf16
from editor.ot.errors import InvalidOp, TooLarge
from editor.ot.sizes import MAX_CONTENT_BYTES, op_json_bytes

if TYPE_CHECKING:
    from editor.ot.document import Document

__all__ = ["check_shape", "validate"]

_OP_KEYS = frozenset(("insert", "retain", "delete"))
_KEYS = _OP_KEYS | {"attributes"}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _check_json(value: Any, where: str) -> None:
    """``value`` must be plain JSON with finite numbers."""
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if math.isfinite(value):
            return
        raise InvalidOp(f"{where}: {value!r} is not a finite number")
    if isinstance(value, list):
        for item in value:
            _check_json(item, where)
        return
    if not isinstance(value, dict):
        raise InvalidOp(f"{where}: {type(value).__name__} is not a JSON value")
    for key, item in value.items():
        if not isinstance(key, str):
            raise InvalidOp(f"{where}: object keys must be strings")
        _check_json(item, where)


def _check_count(op: dict[str, Any], key: str, index: int) -> None:
    count = op[key]
    if count.__class__ is not int:
        raise InvalidOp(f"op {index}: {key} must be a positive integer, not {_type_name(count)}"
                        f" ({count!r})")
    if count <= 0:
        raise InvalidOp(f"op {index}: {key} must be a positive integer, not {count}")


def _check_attributes(op: dict[str, Any], index: int) -> None:
    attrs = op["attributes"]
    if "delete" in op:
        raise InvalidOp(f"op {index}: a delete cannot have attributes")
    if not isinstance(attrs, dict):
        raise InvalidOp(f"op {index}: attributes must be an object, not {_type_name(attrs)}")
    for name, value in attrs.items():
        if value is None or value.__class__ in (str, bool, int):
            continue
        if value.__class__ is float and math.isfinite(value):
            continue
        raise InvalidOp(f"op {index}: attribute {name!r} must be a string, a finite number,"
                        f" a boolean or null, not {_type_name(value)}")


def holds_lone_surrogate(value: Any) -> bool:
    """Whether a string anywhere in ``value`` (parsed JSON, object keys included) holds a
    lone surrogate; iterative, as JSON may nest as deep as the parser went."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if utf16.has_lone_surrogate(item):
                return True
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
    return False


def _check_unicode(op: dict[str, Any], index: int) -> None:
    """No string of ``op``, keys included, holds a lone surrogate (rule 1)."""
    for key, value in op.items():
        if holds_lone_surrogate(key) or holds_lone_surrogate(value):
            part = key if key in _KEYS else f"unknown key {key!r}"
            raise InvalidOp(f"op {index}: {part} holds a lone surrogate (half of a UTF-16 pair)")


def _check_insert(content: Any, index: int) -> None:
    if isinstance(content, str):
        if not content:
            raise InvalidOp(f"op {index}: insert must not be empty")
    elif isinstance(content, dict):
        if len(content) != 1:
            raise InvalidOp(f"op {index}: an embed must have exactly one key, not {len(content)}")
        _check_json(content, f"op {index}: embed")
    else:
        raise InvalidOp(f"op {index}: insert must be a string or an embed object, not"
                        f" {_type_name(content)}")


def check_shape(op: Any) -> None:
    """Raise ``InvalidOp`` unless ``op`` is a well-formed Delta (rules 1 to 4; no document)."""
    if not isinstance(op, list):
        raise InvalidOp(f"an op must be a list of ops, not {_type_name(op)}")
    for index, item in enumerate(op):
        if not isinstance(item, dict):
            raise InvalidOp(f"op {index}: must be an object, not {_type_name(item)}")
        _check_unicode(item, index)
        kinds = [key for key in item if key in _OP_KEYS]
        if len(kinds) != 1:
            if kinds:
                raise InvalidOp(f"op {index}: has both {kinds[0]} and {kinds[1]}")
            raise InvalidOp(f"op {index}: needs one of insert, retain or delete")
        for key in item:
            if key not in _OP_KEYS and key != "attributes":
                raise InvalidOp(f"op {index}: unknown key {key!r}")
        kind = kinds[0]
        if kind == "insert":
            _check_insert(item["insert"], index)
        else:
            _check_count(item, kind, index)
        if "attributes" in item:
            _check_attributes(item, index)


def validate(op: Any, document: list[dict[str, Any]] | Document) -> None:
    """Raise ``InvalidOp`` (or ``TooLarge``) unless ``op`` may apply to ``document``."""
    from editor.ot.document import Document

    check_shape(op)
    doc = document if isinstance(document, Document) else Document.from_delta(document)
    doc_length = doc.length
    position = 0
    inserted_bytes = 0
    exact_size = False
    for index, item in enumerate(op):
        if "insert" in item:
            if position >= doc_length:
                raise InvalidOp(f"op {index}: insert at {position} is after the final newline"
                                f" of the document (length {doc_length})")
            inserted_bytes += op_json_bytes(item) + 1 + doc.split_cost_bytes(position)
            continue
        kind = "retain" if "retain" in item else "delete"
        count = item[kind]
        end = position + count
        if end > doc_length:
            raise InvalidOp(f"op {index}: {kind} {count} at {position} reaches past the end of"
                            f" the document (length {doc_length})")
        if kind == "delete" and end == doc_length:
            raise InvalidOp(f"op {index}: delete {count} at {position} would delete the final"
                            f" newline (document length {doc_length})")
        if doc.splits_surrogate_pair(end):
            raise InvalidOp(f"op {index}: {kind} {count} at {position} ends at {end}, inside a"
                            f" surrogate pair (an astral character such as an emoji)")
        if kind == "retain" and item.get("attributes"):
            exact_size = True
        position = end
    if not exact_size and doc.json_size_bytes + inserted_bytes <= MAX_CONTENT_BYTES:
        return
    size = doc.apply(op).json_size_bytes
    if size > MAX_CONTENT_BYTES:
        raise TooLarge(f"the content would be {size} bytes of JSON, over the limit of"
                       f" {MAX_CONTENT_BYTES}")
