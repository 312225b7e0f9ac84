"""Edge cases of the algebra: malformed input, JavaScript equality, surrogate pairs."""

from __future__ import annotations

import pytest

import editor.ot as ot
from editor.ot import attributes


def test_zero_length_ops_and_empty_attributes_are_ignored() -> None:
    op = [{"insert": ""}, {"retain": 0}, {"insert": "a", "attributes": {}}, {"delete": 0},
          {"insert": "b"}]
    assert ot.normalize(op) == [{"insert": "ab"}]
    assert ot.compose(op, [{"retain": 1}, {"delete": 1}]) == [{"insert": "a"}]
    assert ot.compose(op, [{"retain": 1}]) == [{"insert": "ab"}]
    assert ot.compose([{"delete": 1}, {"insert": "a"}, {"insert": ""}, {"retain": 0}],
                      [{"retain": 1}]) == [{"insert": "a"}, {"delete": 1}]
    assert ot.compose([{"retain": 2}, {"insert": "a"}, {"delete": 1}, {"insert": ""},
                       {"insert": "b"}, {"retain": 0}], [{"insert": "x"}]) == [
        {"insert": "x"}, {"retain": 2}, {"insert": "ab"}, {"delete": 1}]


def test_malformed_ops_raise_invalid_op() -> None:
    with pytest.raises(ot.InvalidOp, match="op 0: expected one of insert, retain or delete"):
        ot.compose([{"foo": 1}], [])
    with pytest.raises(ot.InvalidOp, match=r"op 1: the count must be an integer, not 1\.5"):
        ot.transform([{"retain": 1}, {"retain": 1.5}], [], True)
    with pytest.raises(ot.InvalidOp, match="diff\\(\\) called with non-document"):
        ot.diff([{"retain": 1}], [{"insert": "a"}])
    with pytest.raises(ot.InvalidOp, match="diff\\(\\) called on non-document"):
        ot.diff([{"insert": "a"}], [{"delete": 1}])


def test_cutting_a_surrogate_pair_raises_invalid_op() -> None:
    with pytest.raises(ot.InvalidOp, match="splits a surrogate pair"):
        ot.compose([{"insert": "😀"}], [{"retain": 1}, {"insert": "x"}])
    assert ot.compose([{"insert": "😀"}], [{"retain": 2}, {"insert": "x"}]) == [
        {"insert": "😀x"}]
    assert ot.length([{"insert": "a😀"}, {"insert": {"image": "x"}}, {"retain": 3},
                      {"delete": 4}]) == 11


def test_attribute_equality_is_javascripts() -> None:
    assert not attributes.deep_equal(True, 1)
    assert not attributes.deep_equal({"a": [1, True]}, {"a": [1, 1]})
    assert attributes.deep_equal({"a": [1, {"b": 2.0}]}, {"a": [1, {"b": 2}]})
    assert not attributes.strict_equal({"x": 1}, {"x": 1})
    assert attributes.strict_equal(1, 1.0) and not attributes.strict_equal(1, True)
    # true and 1 are different formats: the runs do not merge.
    assert ot.normalize([{"insert": "a", "attributes": {"bold": True}},
                         {"insert": "b", "attributes": {"bold": 1}}]) == [
        {"insert": "a", "attributes": {"bold": True}},
        {"insert": "b", "attributes": {"bold": 1}}]


def test_invert_compares_object_attributes_by_identity() -> None:
    value = {"x": 1}
    base = [{"insert": "q", "attributes": {"a": {"x": 1}}}]
    assert ot.invert([{"retain": 1, "attributes": {"a": {"x": 1}}}], base) == [
        {"retain": 1, "attributes": {"a": {"x": 1}}}]
    same = [{"insert": "q", "attributes": {"a": value}}]
    assert ot.invert([{"retain": 1, "attributes": {"a": value}}], same) == []


# fast-diff's semantic clean-up cuts the 😀 in two here (found by the differential test);
# quill-delta then returns an op with boundaries inside pairs, editor.ot keeps them whole.
SPLIT_BEFORE = [{"insert": "c"}, {"insert": ".c", "attributes": {"color": "#ccc"}},
                {"insert": "😀"}, {"insert": {"image": "a.png"}},
                {"insert": "👍🏽👍🏽", "attributes": {"color": "#ccc"}}, {"insert": "aA\n"}]
SPLIT_AFTER = [{"insert": "c"}, {"insert": ".c👍🏽👍🏽", "attributes": {"color": "#ccc"}},
               {"insert": "aA\n"}]


def test_diff_never_cuts_a_pair() -> None:
    change = ot.diff(SPLIT_BEFORE, SPLIT_AFTER)
    assert ot.compose(SPLIT_BEFORE, change) == SPLIT_AFTER
    ot.validate(change, SPLIT_BEFORE)


def test_apply_and_diff_of_the_same_document() -> None:
    doc = [{"insert": "ab\n"}]
    assert ot.apply(doc, [{"retain": 1}, {"insert": "x"}]) == [{"insert": "axb\n"}]
    assert ot.diff(doc, doc) == []
    assert ot.diff(doc, [{"insert": "ab\n"}]) == []
