"""The fast-diff port, function by function, against fast-diff's own source run in node.

Fixed cases are diff-match-patch's classic unit cases; random cases stress the surrogate
fix-ups with strings made of halves of pairs that share a high surrogate.
"""

from __future__ import annotations

import copy
import json
import os
import random
from collections.abc import Callable
from typing import Any

import pytest

from editor.ot import fastdiff
from editor.ot import fastdiff_cleanup as cleanup
from tests.ot.quill import Quill

DEL, EQ, INS = fastdiff.DELETE, fastdiff.EQUAL, fastdiff.INSERT


def _in_place(function: Callable[..., None]) -> Callable[..., Any]:
    def call(diffs: list[list[Any]], *rest: Any) -> list[list[Any]]:
        function(diffs, *rest)
        return diffs
    return call


OURS: dict[str, Callable[..., Any]] = {
    "diff_commonPrefix": cleanup.common_prefix,
    "diff_commonSuffix": cleanup.common_suffix,
    "diff_commonOverlap_": cleanup.common_overlap,
    "diff_halfMatch_": fastdiff._half_match,
    "diff_bisect_": fastdiff._bisect,
    "diff_cleanupMerge": _in_place(cleanup.cleanup_merge),
    "diff_cleanupSemantic": _in_place(cleanup.cleanup_semantic),
    "diff_cleanupSemanticLossless": _in_place(cleanup._cleanup_semantic_lossless),
}

FIXED: list[tuple[str, list[Any], Any]] = [
    ("diff_commonPrefix", ["abc", "xyz"], 0),
    ("diff_commonPrefix", ["1234abcdef", "1234xyz"], 4),
    ("diff_commonPrefix", ["1234", "1234xyz"], 4),
    ("diff_commonPrefix", ["a\ud83d\ude00", "a\ud83d\ude03"], 1),
    ("diff_commonSuffix", ["abc", "xyz"], 0),
    ("diff_commonSuffix", ["abcdef1234", "xyz1234"], 4),
    ("diff_commonSuffix", ["1234", "xyz1234"], 4),
    ("diff_commonSuffix", ["\ud83d\ude00a", "\ud83c\ude00a"], 1),
    ("diff_commonOverlap_", ["", "abcd"], 0),
    ("diff_commonOverlap_", ["abc", "abcd"], 3),
    ("diff_commonOverlap_", ["123456", "abcd"], 0),
    ("diff_commonOverlap_", ["123456xxx", "xxxabcd"], 3),
    ("diff_commonOverlap_", ["fi", "\ufb01i"], 0),
    ("diff_halfMatch_", ["1234567890", "abcdef"], None),
    ("diff_halfMatch_", ["12345", "23"], None),
    ("diff_halfMatch_", ["1234567890", "a345678z"], ["12", "90", "a", "z", "345678"]),
    ("diff_halfMatch_", ["a345678z", "1234567890"], ["a", "z", "12", "90", "345678"]),
    ("diff_halfMatch_", ["abc56789z", "1234567890"], ["abc", "z", "1234", "0", "56789"]),
    ("diff_halfMatch_", ["121231234123451234123121", "a1234123451234z"],
     ["12123", "123121", "a", "z", "1234123451234"]),
    ("diff_halfMatch_", ["qHilloHelloHew", "xHelloHeHulloy"],
     ["qHillo", "w", "x", "Hulloy", "HelloHe"]),
    ("diff_bisect_", ["cat", "map"], [[DEL, "c"], [INS, "m"], [EQ, "a"], [DEL, "t"], [INS, "p"]]),
    ("diff_cleanupMerge", [[]], []),
    ("diff_cleanupMerge", [[[EQ, "a"], [EQ, "b"], [EQ, "c"]]], [[EQ, "abc"]]),
    ("diff_cleanupMerge", [[[DEL, "a"], [INS, "b"], [DEL, "c"], [INS, "d"], [EQ, "e"],
                            [EQ, "f"]]], [[DEL, "ac"], [INS, "bd"], [EQ, "ef"]]),
    ("diff_cleanupMerge", [[[DEL, "a"], [INS, "abc"], [DEL, "dc"]]],
     [[EQ, "a"], [DEL, "d"], [INS, "b"], [EQ, "c"]]),
    ("diff_cleanupMerge", [[[EQ, "x"], [DEL, "a"], [INS, "abc"], [DEL, "dc"], [EQ, "y"]]],
     [[EQ, "xa"], [DEL, "d"], [INS, "b"], [EQ, "cy"]]),
    ("diff_cleanupMerge", [[[EQ, "a"], [INS, "ba"], [EQ, "c"]]], [[INS, "ab"], [EQ, "ac"]]),
    ("diff_cleanupMerge", [[[EQ, "c"], [INS, "ab"], [EQ, "a"]]], [[EQ, "ca"], [INS, "ba"]]),
    ("diff_cleanupMerge", [[[EQ, "a"], [DEL, "b"], [EQ, "c"], [DEL, "ac"], [EQ, "x"]]],
     [[DEL, "abc"], [EQ, "acx"]]),
    ("diff_cleanupMerge", [[[EQ, "x"], [DEL, "ca"], [EQ, "c"], [DEL, "b"], [EQ, "a"]]],
     [[EQ, "xca"], [DEL, "cba"]]),
    ("diff_cleanupMerge", [[[INS, "\ude00"], [EQ, "\ud83d"], [DEL, "\ude00x"]], True], None),
    ("diff_cleanupMerge", [[[DEL, "b"], [INS, "a"], [EQ, "\ud83d"], [INS, "\ude03"],
                            [DEL, "\ude00"]], True], None),
    ("diff_cleanupMerge", [[[EQ, "a\ud83d"], [DEL, "\ude00"], [INS, "\ude00"], [EQ, "b"]],
                           True], [[EQ, "a\ud83d\ude00b"]]),
    ("diff_cleanupSemanticLossless", [[[EQ, "AAA\r\n\r\nBBB"], [INS, "\r\nDDD\r\n\r\nBBB"],
                                       [EQ, "\r\nEEE"]]],
     [[EQ, "AAA\r\n\r\n"], [INS, "BBB\r\nDDD\r\n\r\n"], [EQ, "BBB\r\nEEE"]]),
    ("diff_cleanupSemanticLossless", [[[EQ, "AAA\r\nBBB"], [INS, " DDD\r\nBBB"], [EQ, " EEE"]]],
     [[EQ, "AAA\r\n"], [INS, "BBB DDD\r\n"], [EQ, "BBB EEE"]]),
    ("diff_cleanupSemanticLossless", [[[EQ, "The c"], [INS, "ow and the c"], [EQ, "at."]]],
     [[EQ, "The "], [INS, "cow and the "], [EQ, "cat."]]),
    ("diff_cleanupSemanticLossless", [[[EQ, "The-c"], [INS, "ow-and-the-c"], [EQ, "at."]]],
     [[EQ, "The-"], [INS, "cow-and-the-"], [EQ, "cat."]]),
    ("diff_cleanupSemanticLossless", [[[EQ, "a"], [DEL, "a"], [EQ, "ax"]]],
     [[DEL, "a"], [EQ, "aax"]]),
    ("diff_cleanupSemanticLossless", [[[EQ, "xa"], [DEL, "a"], [EQ, "a"]]],
     [[EQ, "xaa"], [DEL, "a"]]),
    ("diff_cleanupSemanticLossless", [[[EQ, "The xxx. The "], [INS, "zzz. The "], [EQ, "yyy."]]],
     [[EQ, "The xxx."], [INS, " The zzz."], [EQ, " The yyy."]]),
    ("diff_cleanupSemantic", [[[DEL, "ab"], [INS, "cd"], [EQ, "12"], [DEL, "e"]]],
     [[DEL, "ab"], [INS, "cd"], [EQ, "12"], [DEL, "e"]]),
    ("diff_cleanupSemantic", [[[DEL, "a"], [EQ, "b"], [DEL, "c"]]], [[DEL, "abc"], [INS, "b"]]),
    ("diff_cleanupSemantic", [[[DEL, "ab"], [EQ, "cd"], [DEL, "e"], [EQ, "f"], [INS, "g"]]],
     [[DEL, "abcdef"], [INS, "cdfg"]]),
    ("diff_cleanupSemantic", [[[INS, "1"], [EQ, "A"], [DEL, "B"], [INS, "2"], [EQ, "_"],
                               [INS, "1"], [EQ, "A"], [DEL, "B"], [INS, "2"]]],
     [[DEL, "AB_AB"], [INS, "1A2_1A2"]]),
    ("diff_cleanupSemantic", [[[DEL, "abcxx"], [INS, "xxdef"]]], [[DEL, "abcxx"], [INS, "xxdef"]]),
    ("diff_cleanupSemantic", [[[DEL, "abcxxx"], [INS, "xxxdef"]]],
     [[DEL, "abc"], [EQ, "xxx"], [INS, "def"]]),
    ("diff_cleanupSemantic", [[[DEL, "xxxabc"], [INS, "defxxx"]]],
     [[INS, "def"], [EQ, "xxx"], [DEL, "abc"]]),
    ("diff_cleanupSemantic", [[[DEL, "abcd1212"], [INS, "1212efghi"], [EQ, "----"],
                               [DEL, "A3"], [INS, "3BC"]]],
     [[DEL, "abcd"], [EQ, "1212"], [INS, "efghi"], [EQ, "----"], [DEL, "A"], [EQ, "3"],
      [INS, "BC"]]),
]

# Pieces sharing high surrogates, so random splits land between halves of pairs.
PIECES = ["a", "b", " ", "\n", ".", "\ud83d", "\ude00", "\ude03", "\ud83c", "\udffd", "x"]


def _text(r: random.Random, low: int = 0) -> str:
    return "".join(r.choice(PIECES) for _ in range(r.randint(low, 6)))


def _diffs(r: random.Random, low: int) -> list[list[Any]]:
    return [[r.choice((DEL, EQ, INS)), _text(r, low)] for _ in range(r.randint(0, 7))]


def _random_requests(r: random.Random, count: int) -> list[tuple[str, list[Any]]]:
    requests: list[tuple[str, list[Any]]] = []
    for _ in range(count):
        requests.append(("diff_cleanupMerge", [_diffs(r, 0), r.random() < 0.7]))
        requests.append(("diff_cleanupSemantic", [_diffs(r, 1)]))
        requests.append(("diff_cleanupSemanticLossless", [_diffs(r, 1)]))
        requests.append(("diff_commonOverlap_", [_text(r), _text(r)]))
        requests.append(("diff_halfMatch_", [_text(r) * 2, _text(r) * 2]))
    return requests


def _check(requests: list[tuple[str, list[Any]]], quill: Quill) -> int:
    answers = quill.call(("fastdiff_internal", [name, *args]) for name, args in requests)
    for (name, args), answer in zip(requests, answers, strict=True):
        if "error" in answer:
            # Arbitrary diff lists can make diff.js recurse without end; so must the port.
            assert answer["error"] == "Maximum call stack size exceeded", answer
            with pytest.raises(RecursionError):
                OURS[name](*copy.deepcopy(args))
            continue
        ours = OURS[name](*copy.deepcopy(args))
        assert json.dumps(ours) == json.dumps(answer["result"]), (name, args, answer, ours)
    return len(requests)


def test_fixed_cases(quill: Quill) -> None:
    for name, args, expected in FIXED:
        if expected is not None:
            assert OURS[name](*copy.deepcopy(args)) == expected, (name, args)
    assert _check([(name, args) for name, args, _ in FIXED], quill) == len(FIXED)


def test_random_cases(quill: Quill) -> None:
    seed = os.environ.get("OT_DIFF_SEED") or random.randrange(2**32)
    print(f"OT_DIFF_SEED={seed}")
    assert _check(_random_requests(random.Random(int(seed)), 600), quill) == 3000


def test_diff_keeps_characters_whole() -> None:
    text1, text2 = "\ud83d\ude00", "\ud83d\ude03"
    raw = fastdiff.diff(text1, text2)
    assert not fastdiff.splits_surrogate_pair(raw)
    split = [(EQ, "a\ud83d"), (DEL, "\ude00"), (INS, "\ude03"), (EQ, "b")]
    assert fastdiff.splits_surrogate_pair(split)
    assert fastdiff.whole_characters(split) == [
        (EQ, "a"), (DEL, "\ud83d\ude00"), (INS, "\ud83d\ude03"), (EQ, "b")]
    assert fastdiff.diff("same", "same") == [(EQ, "same")]
    assert fastdiff.diff("", "") == []
