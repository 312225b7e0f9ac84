"""``validate`` enforces each rule of PROTOCOL.md §1 with a precise reason."""

from __future__ import annotations

import copy
import math
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import editor.ot as ot
from tests.ot import gen

DOC = [{"insert": "ab😀c"}, {"insert": {"image": "x.png"}}, {"insert": "\n"}]  # length 7


@pytest.fixture(params=["list", "Document"])
def doc(request: pytest.FixtureRequest) -> Any:
    return DOC if request.param == "list" else ot.Document.from_delta(DOC)


REJECTED: list[tuple[Any, str]] = [
    ({"insert": "x"}, "an op must be a list of ops, not an object"),
    ("x", "an op must be a list of ops, not a string"),
    ({1, 2}, "an op must be a list of ops, not set"),
    ([1], "op 0: must be an object, not a number"),
    ([None], "op 0: must be an object, not null"),
    ([[]], "op 0: must be an object, not an array"),
    ([{}], "op 0: needs one of insert, retain or delete"),
    ([{"attributes": {}}], "op 0: needs one of insert, retain or delete"),
    ([{"insert": "a", "retain": 1}], "op 0: has both insert and retain"),
    ([{"retain": 1}, {"insert": "a", "foo": 1}], "op 1: unknown key 'foo'"),
    ([{"insert": ""}], "op 0: insert must not be empty"),
    ([{"insert": "a\ud800"}], "op 0: insert holds a lone surrogate"),
    ([{"insert": {"image": "\udfff"}}], "op 0: insert holds a lone surrogate"),
    ([{"insert": "a", "attributes": {"link": "\ud800"}}], "op 0: attributes holds a lone"),
    ([{"retain": 1, "attributes": {"\ud800": True}}], "op 0: attributes holds a lone"),
    ([{"retain": 1, "attributes": {"color": ["\ud83d"]}}], "op 0: attributes holds a lone"),
    ([{"insert": "a", "\ud800": 1}], "op 0: unknown key '\\ud800' holds a lone surrogate"),
    ([{"retain": 1}, {"delete": 1, "x": {"y": [2, "\udc00"]}}],
     "op 1: unknown key 'x' holds a lone surrogate"),
    ([{"insert": 5}], "op 0: insert must be a string or an embed object, not a number"),
    ([{"insert": {}}], "op 0: an embed must have exactly one key, not 0"),
    ([{"insert": {"a": 1, "b": 2}}], "op 0: an embed must have exactly one key, not 2"),
    ([{"insert": {"a": math.nan}}], "op 0: embed: nan is not a finite number"),
    ([{"insert": {"a": [1, {"b": math.inf}]}}], "op 0: embed: inf is not a finite number"),
    ([{"insert": {"a": {1: "x"}}}], "op 0: embed: object keys must be strings"),
    ([{"insert": {"a": {1, 2}}}], "op 0: embed: set is not a JSON value"),
    ([{"retain": 0}], "op 0: retain must be a positive integer, not 0"),
    ([{"delete": -2}], "op 0: delete must be a positive integer, not -2"),
    ([{"retain": 1.0}], "op 0: retain must be a positive integer, not a number (1.0)"),
    ([{"retain": True}], "op 0: retain must be a positive integer, not a boolean (True)"),
    ([{"delete": "1"}], "op 0: delete must be a positive integer, not a string ('1')"),
    ([{"retain": {"image": "x"}}], "op 0: retain must be a positive integer, not an object"),
    ([{"delete": 1, "attributes": {"bold": True}}], "op 0: a delete cannot have attributes"),
    ([{"retain": 1, "attributes": None}], "op 0: attributes must be an object, not null"),
    ([{"retain": 1, "attributes": []}], "op 0: attributes must be an object, not an array"),
    ([{"retain": 1, "attributes": {"a": [1]}}],
     "op 0: attribute 'a' must be a string, a finite number, a boolean or null, not an array"),
    ([{"retain": 1, "attributes": {"a": {"b": 1}}}], "attribute 'a' must be a string"),
    ([{"retain": 1, "attributes": {"a": math.inf}}],
     "op 0: attribute 'a' must be a string, a finite number, a boolean or null, not a number"),
    ([{"retain": 8}], "op 0: retain 8 at 0 reaches past the end of the document (length 7)"),
    ([{"retain": 4}, {"delete": 5}],
     "op 1: delete 5 at 4 reaches past the end of the document (length 7)"),
    ([{"retain": 6}, {"delete": 1}],
     "op 1: delete 1 at 6 would delete the final newline (document length 7)"),
    ([{"delete": 7}], "op 0: delete 7 at 0 would delete the final newline"),
    ([{"retain": 7}, {"insert": "x"}],
     "op 1: insert at 7 is after the final newline of the document (length 7)"),
    ([{"retain": 3}], "op 0: retain 3 at 0 ends at 3, inside a surrogate pair"),
    ([{"retain": 2}, {"delete": 1}], "op 1: delete 1 at 2 ends at 3, inside a surrogate pair"),
]


@pytest.mark.parametrize(("op", "reason"), REJECTED)
def test_rejected_with_reason(doc: Any, op: Any, reason: str) -> None:
    with pytest.raises(ot.InvalidOp) as caught:
        ot.validate(op, doc)
    assert reason in str(caught.value)
    assert caught.value.code == "invalid_op"
    assert type(caught.value) is ot.InvalidOp


def _poison(r: random.Random, item: dict[str, Any], half: str) -> None:
    """Put the lone surrogate ``half`` into the text, embed or attributes of ``item``."""
    content = item.get("insert")
    where = r.choice(["content", "name", "value"])
    if where == "content" and isinstance(content, str):
        at = r.randint(0, len(content))
        item["insert"] = content[:at] + half + content[at:]
    elif where == "content" and isinstance(content, dict):
        key = next(iter(content))
        content[key] = r.choice([half, [1, {"src": f"x{half}"}]])
    elif where == "name":
        item.setdefault("attributes", {})[f"x{half}"] = True
    else:
        item.setdefault("attributes", {})["link"] = f"https://example.test/{half}"


@settings(max_examples=300, deadline=None)
@given(st.randoms(use_true_random=False))
def test_a_lone_surrogate_in_any_string_is_invalid(r: random.Random) -> None:
    """A valid op with a lone surrogate put into any of its strings (text, embed, attribute
    name or value) is refused, with a reason that UTF-8 can carry back to the client."""
    doc = gen.document(r)
    op = [{"insert": "x"}, *gen.op_on(r, doc)]
    ot.validate(op, doc)
    poisoned = copy.deepcopy(op)
    _poison(r, r.choice([item for item in poisoned if "delete" not in item]),
            chr(r.randint(0xD800, 0xDFFF)))
    with pytest.raises(ot.InvalidOp, match="holds a lone surrogate") as caught:
        ot.validate(poisoned, doc)
    str(caught.value).encode()


ACCEPTED: list[Any] = [
    [],
    [{"retain": 7}],
    [{"retain": 7, "attributes": {"header": 1}}],
    [{"insert": "😀"}, {"retain": 2}, {"delete": 2}, {"insert": {"video": {"src": "v", "n": 1.5}}}],
    [{"retain": 4}, {"delete": 2}],
    [{"insert": "x", "attributes": {"bold": True, "size": 1.5, "font": None, "n": 0}}],
    [{"insert": "x", "attributes": {}}],
    [{"insert": {"formula": {"n": [1, 2.5, None, "x", {"k": False}]}}}],
    [{"retain": 1, "attributes": {"bold": None}}, {"delete": 1}],
    [{"delete": 6}],
]


@pytest.mark.parametrize("op", ACCEPTED)
def test_accepted(doc: Any, op: Any) -> None:
    ot.validate(op, doc)


def test_check_shape_needs_no_document() -> None:
    ot.check_shape([{"retain": 10**12}, {"insert": "x"}])
    with pytest.raises(ot.InvalidOp, match="op 1: unknown key 'x'"):
        ot.check_shape([{"retain": 1}, {"x": 1, "delete": 1}])


def _big_document(size_bytes: int) -> list[dict[str, Any]]:
    line = "a" * 998 + "\n"
    return [{"insert": line * (size_bytes // 1000) + "\n"}]


def test_content_limit(doc: Any) -> None:
    big = _big_document(ot.MAX_CONTENT_BYTES - 2000)
    document = ot.Document.from_delta(big)
    size = document.json_size_bytes
    assert ot.MAX_CONTENT_BYTES - 3000 < size <= ot.MAX_CONTENT_BYTES
    room = ot.MAX_CONTENT_BYTES - size
    ot.validate([{"insert": "x" * room}], document)
    with pytest.raises(ot.TooLarge) as caught:
        ot.validate([{"insert": "x" * (room + 1)}], document)
    assert str(caught.value) == (f"the content would be {ot.MAX_CONTENT_BYTES + 1} bytes of"
                                 f" JSON, over the limit of {ot.MAX_CONTENT_BYTES}")
    assert caught.value.code == "too_large"
    # A near miss of the cheap bound is settled exactly: merging costs nothing extra.
    ot.validate([{"retain": 5}, {"insert": "y" * (room - 5)}, {"delete": 5}], document)
    full = document.apply([{"insert": "x" * room}])
    assert full.json_size_bytes == ot.MAX_CONTENT_BYTES
    # Formatting adds attributes; removing an absent one changes nothing.
    with pytest.raises(ot.TooLarge):
        ot.validate([{"retain": 10, "attributes": {"bold": True}}], full)
    ot.validate([{"retain": 10, "attributes": {"bold": None}}], full)
    # Inserting inside a run splits it in two, which costs its framing.
    with pytest.raises(ot.TooLarge):
        ot.validate([{"retain": 10}, {"insert": "z", "attributes": {"b": 1}}, {"delete": 30}],
                    full)
    ot.validate([{"retain": 10}, {"insert": "z"}, {"delete": 1}], full)
