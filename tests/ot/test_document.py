"""``Document`` agrees with ``compose`` on every valid input, and keeps exact sizes."""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import editor.ot as ot
from editor.ot import document as document_module
from tests.ot import gen

randoms = st.randoms(use_true_random=False)


@contextlib.contextmanager
def tiny_chunks(max_units: int, max_ops: int, min_units: int) -> Iterator[None]:
    """Make chunks tiny so that small documents span many of them."""
    saved = (document_module._MAX_UNITS, document_module._MAX_OPS, document_module._MIN_UNITS)
    (document_module._MAX_UNITS, document_module._MAX_OPS,
     document_module._MIN_UNITS) = (max_units, max_ops, min_units)
    try:
        yield
    finally:
        (document_module._MAX_UNITS, document_module._MAX_OPS,
         document_module._MIN_UNITS) = saved


def _json_size(ops: list[dict[str, Any]]) -> int:
    return len(json.dumps(ops, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _reference_slice(ops: list[dict[str, Any]], start: int, end: int) -> list[dict[str, Any]]:
    """Slice by expanding the document into characters (independent of the iterator)."""
    pieces = []
    position = 0
    for op in ops:
        content = op["insert"]
        for char in (content if isinstance(content, str) else [content]):
            if start <= position < end:
                piece = {"insert": char}
                if op.get("attributes"):
                    piece["attributes"] = op["attributes"]
                pieces.append(piece)
            position += 2 if isinstance(char, str) and ord(char) > 0xFFFF else 1
    return ot.normalize(pieces)


def _check(document: ot.Document, expected: list[dict[str, Any]]) -> None:
    assert document.to_delta() == expected
    assert document.length == ot.length(expected)
    assert document.json_size_bytes == _json_size(expected)


@settings(max_examples=200, deadline=None)
@given(randoms, st.sampled_from([(4, 2, 2), (8, 3, 3), (16, 4, 6), (2048, 64, 256)]))
def test_document_follows_compose(r: random.Random, sizes: tuple[int, int, int]) -> None:
    """Document law: from_delta(d).apply(a).to_delta() == compose(d, a), for op chains."""
    with tiny_chunks(*sizes):
        doc = gen.document(r, max_ops=r.choice([3, 30]))
        document = ot.Document.from_delta(doc)
        _check(document, doc)
        for _ in range(r.randint(1, 12)):
            op = gen.op_on(r, doc, canonical=r.random() < 0.7)
            before = document
            document = document.apply(op)
            doc = ot.compose(doc, op)
            _check(document, doc)
            assert before.length == ot.length(before.to_delta())  # old version intact
        bounds = gen.boundaries(doc)
        start, end = sorted((r.choice(bounds), r.choice(bounds)))
        assert document.slice(start, end) == _reference_slice(doc, start, end)


@settings(deadline=None)
@given(randoms)
def test_validate_agrees_on_lists_and_documents(r: random.Random) -> None:
    """validate(op, list) and validate(op, Document) accept and reject the same ops."""
    with tiny_chunks(8, 3, 3):
        doc = gen.document(r, max_ops=10)
        op = gen.op_on(r, doc, protocol=False)
        if r.random() < 0.3 and op:
            op = [*op, {"retain": r.randint(1, 40)}, {"delete": r.randint(1, 3)}]
        outcomes = []
        for target in (doc, ot.Document.from_delta(doc)):
            try:
                ot.validate(op, target)
                outcomes.append("ok")
            except ot.InvalidOp as exc:
                outcomes.append(str(exc))
        assert outcomes[0] == outcomes[1]


def test_long_runs_split_across_chunks_and_merge_back() -> None:
    text = "ab😀" * 3000 + "\n"
    doc = [{"insert": text, "attributes": {"bold": True}}]
    document = ot.Document.from_delta(doc)
    assert len(document._chunks) > 5
    _check(document, doc)
    op = [{"retain": 4000}, {"insert": "x"}, {"delete": 4}]
    expected = ot.compose(doc, op)
    _check(document.apply(op), expected)
    assert document.apply(op).slice(3998, 4003) == _reference_slice(expected, 3998, 4003)


@pytest.mark.parametrize("typed", ["x", "😀"])
def test_typing_in_front_of_a_long_run_keeps_chunks_large(typed: str) -> None:
    # A full chunk used to split into a full one and a one-character one per keystroke.
    document = ot.Document.from_delta([{"insert": typed * 3000}])
    for _ in range(6000):
        document = document.apply([{"insert": typed}])
    units = 9000 * len(typed.encode("utf-16-le")) // 2
    assert len(document._chunks) <= 2 * units // 2048 + 1  # each at least half full
    _check(document, [{"insert": typed * 9000}])


def test_structure_is_shared() -> None:
    document = ot.Document.from_delta([{"insert": "abcdefgh" * 2000 + "\n"}])
    edited = document.apply([{"retain": 5}, {"insert": "X"}])
    shared = set(map(id, document._chunks)) & set(map(id, edited._chunks))
    assert len(shared) >= len(document._chunks) - 2


def test_deleting_everything_but_the_newline() -> None:
    with tiny_chunks(4, 2, 2):
        doc = gen.document(random.Random(7), max_ops=20)
        document = ot.Document.from_delta(doc)
        op = [{"delete": ot.length(doc) - 1}]
        _check(document.apply(op), ot.compose(doc, op))
        assert document.apply(op).to_delta() == [{"insert": "\n", **(
            {"attributes": doc[-1]["attributes"]} if "attributes" in doc[-1] else {})}]


def test_empty_document() -> None:
    document = ot.Document.from_delta([])
    _check(document, [])
    assert document.apply([]) is document
    _check(document.apply([{"insert": "hi\n"}]), [{"insert": "hi\n"}])
    assert document.slice(0, 5) == []
    with pytest.raises(ot.InvalidOp, match="reaches past the end"):
        document.apply([{"retain": 1}, {"insert": "x"}])


def test_apply_rejects_retains_past_the_end() -> None:
    document = ot.Document.from_delta([{"insert": "ab\n"}])
    with pytest.raises(ot.InvalidOp, match=r"delete 5 at 1 reaches past the end .*length 3"):
        document.apply([{"retain": 1}, {"delete": 5}])
    with pytest.raises(ot.InvalidOp, match=r"retain 4 at 0 reaches past"):
        document.apply([{"retain": 4, "attributes": {"bold": True}}])


def test_from_delta_rejects_non_documents() -> None:
    with pytest.raises(ot.InvalidOp, match="op 1: a document holds only inserts"):
        ot.Document.from_delta([{"insert": "a"}, {"retain": 1, "attributes": {"b": 1}}])


def test_surrogate_pair_queries() -> None:
    document = ot.Document.from_delta([{"insert": "a😀b"}, {"insert": {"image": "x"}},
                                       {"insert": "\n"}])
    assert [document.splits_surrogate_pair(i) for i in range(7)] == [
        False, False, True, False, False, False, False]
    assert document.split_cost_bytes(2) == len('{"insert":""}') + 1
    assert document.split_cost_bytes(1) == len('{"insert":""}') + 1
    assert document.split_cost_bytes(4) == document.split_cost_bytes(0) == 0
    assert document.split_cost_bytes(6) == 0
