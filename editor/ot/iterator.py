"""An iterator over a Delta's ops that can split the next op to a given length.

The twin of quill-delta's ``OpIterator``: compose, transform, invert and diff are each one loop
over two of these. ``take`` returns a *piece* ``(kind, length, content, attributes)``; past the
end it returns an endless plain retain, as quill-delta does. Ops of length zero (``""``,
``retain: 0``, ``delete: 0``) are skipped.
"""

from __future__ import annotations

from typing import Any

from editor.ot import utf16
from editor.ot.attributes import Attrs
from editor.ot.errors import InvalidOp

__all__ = ["DELETE", "INFINITY", "INSERT", "RETAIN", "OpIterator", "Piece", "op_length"]

INSERT, RETAIN, DELETE = 0, 1, 2
INFINITY = float("inf")

# (kind, length in UTF-16 units, insert content (str or embed dict) or None, attributes)
Piece = tuple[int, Any, Any, Attrs]


def op_length(op: dict[str, Any]) -> int:
    """``Op.length``: a delete's or retain's count, an insert's UTF-16 length, 1 for an embed."""
    if "delete" in op:
        return int(op["delete"])
    if "retain" in op:
        return int(op["retain"])
    content = op["insert"]
    return utf16.utf16_len(content) if isinstance(content, str) else 1


class OpIterator:
    """Walks ``ops`` (never mutated), handing out whole ops or pieces of them."""

    __slots__ = ("_ops", "_count", "_index", "offset", "kind", "op_len", "content", "attrs")

    op_len: Any  # an int, or INFINITY past the end

    def __init__(self, ops: list[dict[str, Any]]) -> None:
        self._ops = ops
        self._count = len(ops)
        self._index = -1
        self._advance()

    def _advance(self) -> None:
        """Move to the next op of non-zero length, caching its kind, length and payload."""
        ops = self._ops
        index = self._index + 1
        self.offset = 0
        while index < self._count:
            op = ops[index]
            if "insert" in op:
                content = op["insert"]
                kind = INSERT
                if isinstance(content, str):
                    length = utf16.utf16_len(content)
                else:
                    length = 1
            else:
                content = None
                if "retain" in op:
                    kind = RETAIN
                    length = op["retain"]
                elif "delete" in op:
                    kind = DELETE
                    length = op["delete"]
                else:
                    raise InvalidOp(f"op {index}: expected one of insert, retain or delete")
                if length.__class__ is not int:
                    raise InvalidOp(f"op {index}: the count must be an integer, not {length!r}")
            if length > 0:
                self._index = index
                self.kind = kind
                self.op_len = length
                self.content = content
                self.attrs = None if kind == DELETE else op.get("attributes") or None
                return
            index += 1
        self._index = index
        self.kind = RETAIN
        self.op_len = INFINITY
        self.content = None
        self.attrs = None

    def whole_inserts(self, limit: int) -> tuple[list[dict[str, Any]], int]:
        """Take the next whole insert ops, as they are, while their total stays ≤ ``limit``.

        Returns them and their total length.
        """
        if self.offset or self.kind != INSERT or self.op_len > limit:
            return [], 0
        ops = self._ops
        start = index = self._index
        total = limit
        limit -= self.op_len
        index += 1
        while index < self._count:
            op = ops[index]
            if "insert" not in op:
                break
            content = op["insert"]
            length = utf16.utf16_len(content) if content.__class__ is str else 1
            if length > limit:
                break
            limit -= length
            index += 1
        self._index = index - 1
        self._advance()
        return ops[start:index], total - limit

    def whole_rest(self) -> list[dict[str, Any]]:
        """Take every op left after the current piece, as they are (call at an op boundary)."""
        rest = self._ops[self._index:]
        self._index = self._count
        self._advance()
        return rest

    def has_next(self) -> bool:
        """Whether any op is left."""
        return self._index < self._count

    def peek_length(self) -> Any:
        """UTF-16 length left in the current op (infinite past the end)."""
        return self.op_len - self.offset

    def take(self, length: Any = INFINITY) -> Piece:
        """The next piece, at most ``length`` long (the rest of the current op by default)."""
        kind = self.kind
        offset = self.offset
        op_len = self.op_len
        left = op_len - offset
        content = self.content
        attrs = self.attrs
        if length >= left:
            length = left
            self._advance()
        else:
            self.offset = offset + length
        if kind == INSERT and content.__class__ is str and (offset or length < op_len):
            content = _slice(content, offset, length)
        return kind, length, content, attrs


def _slice(text: str, start: int, length: int) -> str:
    """``text.substr(start, length)`` in UTF-16 units."""
    if text.isascii():
        return text[start:start + length]
    try:
        if start:
            text = utf16.split(text, start)[1]
        return utf16.split(text, length)[0]
    except utf16.SplitSurrogate as exc:
        raise InvalidOp(f"a boundary splits a surrogate pair in {text!r}") from exc
