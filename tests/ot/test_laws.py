"""The laws of the algebra, as hypothesis properties (each docstring names its law).

Inputs come from ``tests.ot.gen`` through ``st.randoms``: emoji and other astral characters,
combining marks, embeds, and attributes including ``null``.
"""

from __future__ import annotations

import copy
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import editor.ot as ot
from editor.ot.utf16 import has_lone_surrogate
from tests.ot import gen

randoms = st.randoms(use_true_random=False)
laws = settings(max_examples=300, deadline=None)


def _valid_on(op: list[dict[str, Any]], doc: list[dict[str, Any]]) -> bool:
    """No boundary of ``op`` cuts a surrogate pair of ``doc``; no insert holds a half."""
    bounds = set(gen.boundaries(doc))
    position = 0
    for item in op:
        if "insert" in item:
            if isinstance(item["insert"], str) and has_lone_surrogate(item["insert"]):
                return False
            continue
        position += item.get("retain", 0) + item.get("delete", 0)
        if position not in bounds:
            return False
    return True


@laws
@given(randoms)
def test_convergence(r: random.Random) -> None:
    """Convergence (TP1): d∘a∘transform(a, b, True) == d∘b∘transform(b, a, False)."""
    doc = gen.document(r)
    a = gen.op_on(r, doc, canonical=r.random() < 0.7)
    b = gen.op_on(r, doc, canonical=r.random() < 0.7)
    left = ot.compose(ot.compose(doc, a), ot.transform(a, b, True))
    right = ot.compose(ot.compose(doc, b), ot.transform(b, a, False))
    assert left == right


@laws
@given(randoms)
def test_compose_is_associative(r: random.Random) -> None:
    """Associativity: compose(compose(a, b), c) == compose(a, compose(b, c))."""
    doc = gen.document(r)
    a, b, c = gen.ops_chain(r, doc, 3)
    assert ot.compose(ot.compose(a, b), c) == ot.compose(a, ot.compose(b, c))
    assert ot.compose(ot.compose(doc, a), b) == ot.compose(doc, ot.compose(a, b))


@laws
@given(randoms)
def test_apply_of_compose(r: random.Random) -> None:
    """Application: apply(apply(d, a), b) == apply(d, compose(a, b))."""
    doc = gen.document(r)
    a, b = gen.ops_chain(r, doc, 2)
    assert ot.apply(ot.apply(doc, a), b) == ot.apply(doc, ot.compose(a, b))
    assert ot.length(ot.apply(doc, a)) == gen.text_length(ot.apply(doc, a))


@laws
@given(randoms)
def test_invert_round_trip(r: random.Random) -> None:
    """Inversion: d∘a∘invert(a, d) == d, and the inverse never cuts a surrogate pair."""
    doc = gen.document(r)
    a = gen.op_on(r, doc, canonical=r.random() < 0.7, protocol=False)
    inverse = ot.invert(a, doc)
    after = ot.compose(doc, a)
    assert ot.compose(after, inverse) == doc
    assert _valid_on(inverse, after)


@laws
@given(randoms, st.booleans())
def test_transform_position_agrees_with_transform(r: random.Random, priority: bool) -> None:
    """Cursor law: transform_position(a, i, p) is where transform(a, at(i), not p) inserts."""
    doc = gen.document(r)
    a = gen.op_on(r, doc, protocol=False)
    index = r.choice(gen.boundaries(doc))
    marker = {"insert": {"cursor": True}}
    moved = ot.transform(a, [{"retain": index}, marker] if index else [marker], not priority)
    position = 0
    for item in moved:
        if item.get("insert") == marker["insert"]:
            break
        position += item.get("retain", 0)
    assert ot.transform_position(a, index, priority) == position


@laws
@given(randoms)
def test_diff_round_trip(r: random.Random) -> None:
    """Diff: d∘diff(d, e) == e, without cutting a surrogate pair, and diff(d, d) == [].

    (For documents without null attribute values: diff, like quill-delta's, sees a null
    as a change to remove, which compose then drops.)
    """
    doc = gen.document(r)
    other = gen.document(r) if r.random() < 0.5 else ot.compose(doc, gen.op_on(r, doc))
    other = gen.without_nulls(other)
    change = ot.diff(doc, other)
    assert ot.compose(doc, change) == other
    assert _valid_on(change, doc)
    assert ot.diff(doc, copy.deepcopy(doc)) == []
    assert ot.diff(doc, doc) == []


@laws
@given(randoms)
def test_normalize_is_canonical(r: random.Random) -> None:
    """Canonical form: normalize keeps the effect, is idempotent, and outputs are canonical."""
    doc = gen.document(r)
    a = gen.op_on(r, doc, canonical=False)
    canonical = ot.normalize(a)
    assert ot.compose(doc, canonical) == ot.compose(doc, a)
    assert ot.normalize(canonical) == canonical
    b = gen.op_on(r, doc, canonical=False)
    for result in (ot.compose(a, ot.transform(a, b, True)), ot.transform(a, b, False),
                   ot.compose(doc, a), ot.invert(a, doc)):
        assert ot.normalize(result) == result


@laws
@given(randoms)
def test_inputs_are_never_mutated(r: random.Random) -> None:
    """Immutability: no function changes its arguments."""
    doc = gen.document(r)
    a = gen.op_on(r, doc, canonical=False)
    b = gen.op_on(r, doc, canonical=False)
    c = gen.op_on(r, ot.compose(doc, a))
    other = gen.document(r)
    saved = copy.deepcopy((doc, a, b, c, other))
    ot.compose(doc, a)
    ot.compose(a, c)
    ot.transform(a, b, True)
    ot.transform(b, a, False)
    ot.transform_position(a, 3, True)
    ot.invert(a, doc)
    ot.diff(doc, other)
    ot.normalize(a)
    ot.length(a)
    ot.apply(doc, a)
    ot.validate(a, doc)
    document = ot.Document.from_delta(doc)
    document.apply(a).to_delta()
    ot.validate(c, document.apply(a))
    assert (doc, a, b, c, other) == saved
    assert document.to_delta() == saved[0]
