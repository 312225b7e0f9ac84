"""Random documents and ops for the property and differential tests.

Generators take a ``random.Random`` (hypothesis passes its own through ``st.randoms``), so the
same code feeds hypothesis, which shrinks, and the differential test, which needs thousands
of cheap cases. Text mixes ASCII, newlines, accents, CJK, combining marks, astral emoji and
NUL (quill-delta's placeholder for embeds in ``diff``); attributes include ``null``; ops
never cut a surrogate pair (such ops are invalid, see PROTOCOL.md §1).
"""

from __future__ import annotations

import copy
import random
from typing import Any

from editor.ot import normalize
from editor.ot.utf16 import utf16_len

Op = dict[str, Any]

ALPHABET = ["a", "b", "c", " ", " ", "\n", "é", "中", "e\u0301", "\u0301", "😀", "👍🏽",
            "\U0001d11e", ".", "A", "\0"]
EMBEDS: list[dict[str, Any]] = [{"image": "a.png"}, {"image": "b.png"}, {"video": "v.mp4"},
                                {"formula": {"tex": "x^2", "n": [1, 2]}}, {"image": "a.png"}]
ATTR_VALUES: dict[str, list[Any]] = {
    "bold": [True, False, 1, 0],
    "italic": [True],
    "color": ["red", "#ccc", "blue"],
    "size": [1, 2.5, 12],
    "header": [1, 2],
    "link": ["https://example.com/😀"],
}


def text(r: random.Random, max_chars: int = 6) -> str:
    """A short non-empty string; sometimes a long one, so documents span several chunks."""
    if r.random() < 0.03:
        return "".join(r.choice(ALPHABET) for _ in range(r.randint(20, 80)))
    return "".join(r.choice(ALPHABET) for _ in range(r.randint(1, max_chars)))


def attributes(r: random.Random, allow_null: bool) -> dict[str, Any] | None:
    """None half of the time, else one to three attributes (null only if ``allow_null``)."""
    if r.random() < 0.5:
        return None
    attrs: dict[str, Any] = {}
    for _ in range(r.randint(1, 3)):
        key = r.choice(list(ATTR_VALUES))
        attrs[key] = None if allow_null and r.random() < 0.3 else r.choice(ATTR_VALUES[key])
    return attrs


def insert(r: random.Random, allow_null: bool = False) -> Op:
    """An insert of text (most often) or of an embed, with attributes or not."""
    content: Any = copy.deepcopy(r.choice(EMBEDS)) if r.random() < 0.15 else text(r)
    op: Op = {"insert": content}
    attrs = attributes(r, allow_null)
    if attrs:
        op["attributes"] = attrs
    return op


def document(r: random.Random, max_ops: int = 6) -> list[Op]:
    """A canonical document ending with a newline (perhaps with line attributes)."""
    ops = [insert(r) for _ in range(r.randint(0, max_ops))]
    last: Op = {"insert": "\n"}
    if r.random() < 0.3:
        last["attributes"] = {"header": r.choice([1, 2])}
    ops.append(last)
    return normalize(ops)


def boundaries(doc: list[Op]) -> list[int]:
    """Every position of ``doc`` that does not fall inside a surrogate pair, 0 included."""
    positions = [0]
    at = 0
    for op in doc:
        content = op["insert"]
        if isinstance(content, str):
            for char in content:
                at += 2 if ord(char) > 0xFFFF else 1
                positions.append(at)
        else:
            at += 1
            positions.append(at)
    return positions


def op_on(r: random.Random, doc: list[Op], canonical: bool = True,
          protocol: bool = True) -> list[Op]:
    """A random op valid on ``doc``; ``protocol``: keeps the final newline, inserts before it."""
    bounds = boundaries(doc)
    end = bounds[-1]
    ops: list[Op] = []
    index = 0  # into bounds
    for _ in range(r.randint(0, 5)):
        position = bounds[index]
        choice = r.random()
        if choice < 0.35:
            if protocol and position >= end:
                continue
            ops.append(insert(r, allow_null=r.random() < 0.1))
            continue
        last_allowed = len(bounds) - 1 - (1 if protocol and choice >= 0.75 else 0)
        if index >= last_allowed:
            continue
        target = r.randint(index + 1, min(last_allowed, index + 1 + r.choice([1, 3, 10, 50])))
        count = bounds[target] - position
        if choice < 0.75:
            op: Op = {"retain": count}
            attrs = attributes(r, allow_null=True)
            if attrs and r.random() < 0.6:
                op["attributes"] = attrs
            ops.append(op)
        else:
            ops.append({"delete": count})
        index = target
    if not canonical and r.random() < 0.5 and ops:
        return ops
    return normalize(ops)


def ops_chain(r: random.Random, doc: list[Op], count: int) -> list[list[Op]]:
    """``count`` ops, each valid on ``doc`` after the ones before it."""
    from editor.ot import compose

    chain = []
    for _ in range(count):
        op = op_on(r, doc)
        chain.append(op)
        doc = compose(doc, op)
    return chain


def text_length(doc: list[Op]) -> int:
    """Length of a document in UTF-16 units (independent of the code under test)."""
    return sum(utf16_len(op["insert"]) if isinstance(op["insert"], str) else 1 for op in doc)


def without_nulls(doc: list[Op]) -> list[Op]:
    """``doc`` without null-valued attributes, which only a retain can give a meaning to."""
    ops = []
    for op in doc:
        attrs = {key: value for key, value in (op.get("attributes") or {}).items()
                 if value is not None}
        ops.append({"insert": op["insert"], "attributes": attrs} if attrs
                   else {"insert": op["insert"]})
    return normalize(ops)
