"""The quill-delta 5.1 algebra on plain JSON Deltas: compose, transform, invert, diff.

Laws (each a hypothesis property in ``tests/ot/test_laws.py``), for ``a`` and ``b`` made on
the same document ``d`` and ``x ∘ y`` meaning ``compose(x, y)``:

- convergence: ``d ∘ a ∘ transform(a, b, True) == d ∘ b ∘ transform(b, a, False)``
- associativity: ``(a ∘ b) ∘ c == a ∘ (b ∘ c)``
- application: ``apply(apply(d, a), b) == apply(d, a ∘ b)``
- inversion: ``d ∘ a ∘ invert(a, d) == d``
- diff round trip: ``d ∘ diff(d, e) == e`` for documents ``d`` and ``e``

Inputs are never mutated; outputs are canonical (see ``ops``) and may share attribute maps
and embed values with the inputs, which callers must treat as immutable.
"""

from __future__ import annotations

from typing import Any

from editor.ot import attributes, fastdiff, utf16
from editor.ot.errors import InvalidOp
from editor.ot.iterator import DELETE, INSERT, RETAIN, OpIterator
from editor.ot.ops import chop, extend, push

__all__ = ["apply", "compose", "diff", "invert", "transform", "transform_position"]

Op = dict[str, Any]


def compose(a: list[Op], b: list[Op]) -> list[Op]:
    """``a.compose(b)``: one op with the effect of ``a`` then ``b``."""
    a_it = OpIterator(a)
    b_it = OpIterator(b)
    result: list[Op] = []
    if b_it.kind == RETAIN and b_it.has_next() and b_it.attrs is None:
        # A leading plain retain of b keeps a's inserts as they are.
        kept, kept_length = a_it.whole_inserts(b_it.op_len)
        extend(result, kept)
        if kept_length:
            b_it.take(kept_length)
    while a_it.has_next() or b_it.has_next():
        if b_it.kind == INSERT:
            push(result, *b_it.take())
        elif a_it.kind == DELETE:
            push(result, *a_it.take())
        elif not b_it.has_next():
            # The rest of b is an endless plain retain: a's rest passes through unchanged.
            if a_it.offset:
                push(result, *a_it.take())
            extend(result, a_it.whole_rest())
        else:
            count = min(a_it.peek_length(), b_it.peek_length())
            a_kind, _, a_content, a_attrs = a_it.take(count)
            b_kind, _, _, b_attrs = b_it.take(count)
            if b_kind == RETAIN:
                keep_null = a_kind == RETAIN
                push(result, a_kind, count, a_content,
                     attributes.compose(a_attrs, b_attrs, keep_null))
            elif a_kind == RETAIN:
                # b deletes what a retained; what a inserted and b deletes cancels out.
                push(result, DELETE, count, None, None)
    return chop(result)


def transform(a: list[Op], b: list[Op], priority: bool) -> list[Op]:
    """``a.transform(b, priority)``: ``b`` rebased over ``a``; ``priority``: ``a`` came first."""
    a_it = OpIterator(a)
    b_it = OpIterator(b)
    result: list[Op] = []
    while a_it.has_next() or b_it.has_next():
        if a_it.kind == INSERT and (priority or b_it.kind != INSERT):
            push(result, RETAIN, a_it.take()[1], None, None)
        elif b_it.kind == INSERT:
            push(result, *b_it.take())
        else:
            count = min(a_it.peek_length(), b_it.peek_length())
            a_kind, _, _, a_attrs = a_it.take(count)
            b_kind, _, _, b_attrs = b_it.take(count)
            if a_kind == DELETE:
                # a's delete makes b's delete redundant or removes what b retained.
                continue
            if b_kind == DELETE:
                push(result, DELETE, count, None, None)
            else:
                push(result, RETAIN, count, None, attributes.transform(a_attrs, b_attrs, priority))
    return chop(result)


def transform_position(a: list[Op], index: int, priority: bool = False) -> int:
    """``a.transformPosition(index, priority)``: where ``index`` moves to once ``a`` applies."""
    it = OpIterator(a)
    offset = 0
    while it.has_next() and offset <= index:
        kind, count, _, _ = it.take()
        if kind == DELETE:
            index -= min(count, index - offset)
            continue
        if kind == INSERT and (offset < index or not priority):
            index += count
        offset += count
    return index


def invert(a: list[Op], base: list[Op]) -> list[Op]:
    """``a.invert(base)``: the op undoing ``a`` on document ``base``; ``base ∘ a ∘ inv == base``."""
    result: list[Op] = []
    base_it = OpIterator(base)
    base_position = 0  # how far base_it has been read
    base_index = 0  # where the current op of a starts in base
    it = OpIterator(a)
    while it.has_next():
        kind, count, _, attrs = it.take()
        if kind == INSERT:
            push(result, DELETE, count, None, None)
            continue
        if kind == RETAIN and attrs is None:
            push(result, RETAIN, count, None, None)
            base_index += count
            continue
        while base_position < base_index and base_it.has_next():
            base_position += base_it.take(base_index - base_position)[1]
        end = base_index + count
        while base_position < end and base_it.has_next():
            piece = base_it.take(end - base_position)
            base_position += piece[1]
            if kind == DELETE:
                push(result, *piece)
            else:
                push(result, RETAIN, piece[1], None, attributes.invert(attrs, piece[3]))
        base_index = end
    return chop(result)


def apply(doc: list[Op], op: list[Op]) -> list[Op]:
    """The document ``doc`` after ``op``: ``compose(doc, op)`` (copies; see ``Document``)."""
    return compose(doc, op)


_NULL_CHARACTER = "\0"


def _document_text(doc: list[Op], which: str) -> str:
    parts = []
    for op in doc:
        if "insert" not in op:
            raise InvalidOp(f"diff() called {which} non-document")
        content = op["insert"]
        parts.append(content if content.__class__ is str else _NULL_CHARACTER)
    return "".join(parts)


def diff(a: list[Op], b: list[Op]) -> list[Op]:
    """``a.diff(b)`` for documents: the op turning ``a`` into ``b`` (fast-diff, cleaned up)."""
    if a is b:
        return []
    text_a = utf16.to_code_units(_document_text(a, "with"))
    text_b = utf16.to_code_units(_document_text(b, "on"))
    result: list[Op] = []
    a_it = OpIterator(a)
    b_it = OpIterator(b)
    components = fastdiff.diff(text_a, text_b, cleanup=True)
    if fastdiff.splits_surrogate_pair(components):
        # quill-delta would emit an op cutting an emoji in two, which PROTOCOL.md §1 forbids.
        components = fastdiff.whole_characters(components)
    for operation, text in components:
        left = len(text)
        while left > 0:
            if operation == fastdiff.INSERT:
                piece = b_it.take(min(b_it.peek_length(), left))
                push(result, *piece)
            elif operation == fastdiff.DELETE:
                piece = a_it.take(min(left, a_it.peek_length()))
                push(result, DELETE, piece[1], None, None)
            else:
                count = min(a_it.peek_length(), b_it.peek_length(), left)
                a_piece = a_it.take(count)
                piece = b_it.take(count)
                if attributes.deep_equal(a_piece[2], piece[2]):
                    push(result, RETAIN, count, None, attributes.diff(a_piece[3], piece[3]))
                else:
                    push(result, *piece)
                    push(result, DELETE, count, None, None)
            left -= piece[1]
    return chop(result)
