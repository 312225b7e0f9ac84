"""Building Deltas in canonical form: quill-delta's ``push``, ``chop``, ``normalize``, ``length``.

The canonical form (quill-delta's): no op of length zero, no empty attribute map, an insert
placed before an adjacent delete, adjacent deletes merged, adjacent string inserts or retains
with equal attributes merged, and no trailing retain without attributes.
"""

from __future__ import annotations

from typing import Any

from editor.ot.attributes import Attrs, attrs_equal
from editor.ot.iterator import DELETE, INSERT, OpIterator, op_length

__all__ = ["chop", "extend", "length", "make_op", "normalize", "push"]

Op = dict[str, Any]


def make_op(kind: int, count: int, content: Any, attrs: Attrs) -> Op:
    """The op dict for a piece."""
    if kind == DELETE:
        return {"delete": count}
    op: Op = {"insert": content} if kind == INSERT else {"retain": count}
    if attrs:
        op["attributes"] = attrs
    return op


def push(ops: list[Op], kind: int, count: Any, content: Any, attrs: Attrs) -> None:
    """Append a piece to ``ops`` (a list this module owns), merging as quill-delta's ``push``."""
    index = len(ops)
    if index:
        last = ops[-1]
        if "delete" in last:
            if kind == DELETE:
                ops[-1] = {"delete": last["delete"] + count}
                return
            if kind == INSERT:
                # An insert and a delete at one place commute: the insert goes first.
                index -= 1
                if index == 0:
                    ops.insert(0, make_op(kind, count, content, attrs))
                    return
                last = ops[index - 1]
        last_attrs = last.get("attributes")
        if attrs is last_attrs or attrs_equal(attrs, last_attrs):
            merged: Op | None = None
            if kind == INSERT:
                last_content = last.get("insert")
                if content.__class__ is str and last_content.__class__ is str:
                    merged = {"insert": last_content + content}
            elif kind != DELETE and "retain" in last:
                merged = {"retain": last["retain"] + count}
            if merged is not None:
                if attrs:
                    merged["attributes"] = attrs
                ops[index - 1] = merged
                return
    if index == len(ops):
        ops.append(make_op(kind, count, content, attrs))
    else:
        ops.insert(index, make_op(kind, count, content, attrs))


def extend(result: list[Op], ops: list[Op]) -> None:
    """``push`` every op of ``ops`` onto ``result``; fast for runs of canonical inserts."""
    for op in ops:
        if "insert" not in op:
            it = OpIterator([op])
            while it.has_next():
                push(result, *it.take())
            continue
        content = op["insert"]
        if content == "":
            continue
        attrs = op.get("attributes") or None
        if result:
            last = result[-1]
            last_attrs = last.get("attributes")
            if "delete" in last or (content.__class__ is str
                                    and last.get("insert").__class__ is str
                                    and (attrs is last_attrs
                                         or attrs_equal(attrs, last_attrs))):
                push(result, INSERT, 0, content, attrs)
                continue
        result.append({"insert": content, "attributes": attrs} if attrs else {"insert": content})


def chop(ops: list[Op]) -> list[Op]:
    """Drop a trailing retain without attributes (it changes nothing); returns ``ops``."""
    if ops:
        last = ops[-1]
        if "retain" in last and not last.get("attributes"):
            ops.pop()
    return ops


def normalize(ops: list[Op]) -> list[Op]:
    """The canonical form of ``ops``: same effect, quill-delta's one spelling of it."""
    result: list[Op] = []
    it = OpIterator(ops)
    while it.has_next():
        push(result, *it.take())
    return chop(result)


def length(ops: list[Op]) -> int:
    """``Delta.length()``: the sum of every op's length, in UTF-16 units."""
    return sum(op_length(op) for op in ops)
