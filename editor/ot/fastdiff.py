"""A faithful port of fast-diff 1.3.0 (diff-match-patch with semantic cleanup), as quill-delta.

Texts are strings of UTF-16 code units, one per Python character (``utf16.to_code_units``), so
indexes and lengths agree with JavaScript's. Every branch mirrors ``fast-diff/diff.js``,
including its surrogate-pair fix-ups; the cursor argument is not ported (quill-delta's
``diff`` passes none).
"""

from __future__ import annotations

from editor.ot.fastdiff_cleanup import (
    DELETE,
    EQUAL,
    INSERT,
    Diffs,
    cleanup_merge,
    cleanup_semantic,
    common_prefix,
    common_suffix,
    is_high,
    is_low,
)

__all__ = ["DELETE", "EQUAL", "INSERT", "diff", "splits_surrogate_pair", "whole_characters"]


def diff(text1: str, text2: str, cleanup: bool = True) -> list[tuple[int, str]]:
    """``fast-diff(text1, text2, undefined, cleanup)``: ``(operation, text)`` tuples."""
    return [(operation, text) for operation, text in _main(text1, text2, cleanup, True)]


def splits_surrogate_pair(diffs: list[tuple[int, str]]) -> bool:
    """Whether a boundary of ``diffs`` falls inside a surrogate pair.

    fast-diff's semantic clean-up is not surrogate-aware: on rare inputs (an emoji next to
    a deleted embed, say) it shifts an edit to the middle of a pair.
    """
    return any(is_low(text[0]) or is_high(text[-1]) for _, text in diffs)


def whole_characters(diffs: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """``diffs`` with no boundary inside a surrogate pair: fast-diff's own fix-up, run again."""
    fixed: Diffs = [[operation, text] for operation, text in diffs]
    cleanup_merge(fixed, True)
    return [(operation, text) for operation, text in fixed]


def _main(text1: str, text2: str, cleanup: bool = False, fix_unicode: bool = False) -> Diffs:
    if text1 == text2:
        return [[EQUAL, text1]] if text1 else []
    common = common_prefix(text1, text2)
    prefix = text1[:common]
    text1, text2 = text1[common:], text2[common:]
    common = common_suffix(text1, text2)
    suffix = text1[len(text1) - common:]
    text1, text2 = text1[:len(text1) - common], text2[:len(text2) - common]
    diffs = _compute(text1, text2)
    if prefix:
        diffs.insert(0, [EQUAL, prefix])
    if suffix:
        diffs.append([EQUAL, suffix])
    cleanup_merge(diffs, fix_unicode)
    if cleanup:
        cleanup_semantic(diffs)
    return diffs


def _compute(text1: str, text2: str) -> Diffs:
    if not text1:
        return [[INSERT, text2]]
    if not text2:
        return [[DELETE, text1]]
    long_text, short_text = (text1, text2) if len(text1) > len(text2) else (text2, text1)
    i = long_text.find(short_text)
    if i != -1:
        edit = DELETE if len(text1) > len(text2) else INSERT
        return [[edit, long_text[:i]], [EQUAL, short_text], [edit, long_text[i + len(short_text):]]]
    if len(short_text) == 1:
        return [[DELETE, text1], [INSERT, text2]]
    half = _half_match(text1, text2)
    if half:
        text1_a, text1_b, text2_a, text2_b, mid_common = half
        return _main(text1_a, text2_a) + [[EQUAL, mid_common]] + _main(text1_b, text2_b)
    return _bisect(text1, text2)


def _bisect(text1: str, text2: str) -> Diffs:
    """Myers' middle snake, splitting the problem in two."""
    len1, len2 = len(text1), len(text2)
    max_d = (len1 + len2 + 1) // 2
    v_offset = max_d
    v_length = 2 * max_d
    v1 = [-1] * v_length
    v2 = [-1] * v_length
    v1[v_offset + 1] = 0
    v2[v_offset + 1] = 0
    delta = len1 - len2
    front = delta % 2 != 0
    k1start = k1end = k2start = k2end = 0
    for d in range(max_d):
        for k1 in range(-d + k1start, d - k1end + 1, 2):
            k1_offset = v_offset + k1
            if k1 == -d or (k1 != d and v1[k1_offset - 1] < v1[k1_offset + 1]):
                x1 = v1[k1_offset + 1]
            else:
                x1 = v1[k1_offset - 1] + 1
            y1 = x1 - k1
            while x1 < len1 and y1 < len2 and text1[x1] == text2[y1]:
                x1 += 1
                y1 += 1
            v1[k1_offset] = x1
            if x1 > len1:
                k1end += 2
            elif y1 > len2:
                k1start += 2
            elif front:
                k2_offset = v_offset + delta - k1
                if 0 <= k2_offset < v_length and v2[k2_offset] != -1:
                    x2 = len1 - v2[k2_offset]
                    if x1 >= x2:
                        return _bisect_split(text1, text2, x1, y1)
        for k2 in range(-d + k2start, d - k2end + 1, 2):
            k2_offset = v_offset + k2
            if k2 == -d or (k2 != d and v2[k2_offset - 1] < v2[k2_offset + 1]):
                x2 = v2[k2_offset + 1]
            else:
                x2 = v2[k2_offset - 1] + 1
            y2 = x2 - k2
            while x2 < len1 and y2 < len2 and text1[len1 - x2 - 1] == text2[len2 - y2 - 1]:
                x2 += 1
                y2 += 1
            v2[k2_offset] = x2
            if x2 > len1:
                k2end += 2
            elif y2 > len2:
                k2start += 2
            elif not front:
                k1_offset = v_offset + delta - k2
                if 0 <= k1_offset < v_length and v1[k1_offset] != -1:
                    x1 = v1[k1_offset]
                    y1 = v_offset + x1 - k1_offset
                    if x1 >= len1 - x2:
                        return _bisect_split(text1, text2, x1, y1)
    return [[DELETE, text1], [INSERT, text2]]


def _bisect_split(text1: str, text2: str, x: int, y: int) -> Diffs:
    return _main(text1[:x], text2[:y]) + _main(text1[x:], text2[y:])


def _half_match(text1: str, text2: str) -> list[str] | None:
    long_text, short_text = (text1, text2) if len(text1) > len(text2) else (text2, text1)
    if len(long_text) < 4 or len(short_text) * 2 < len(long_text):
        return None
    hm1 = _half_match_at(long_text, short_text, (len(long_text) + 3) // 4)
    hm2 = _half_match_at(long_text, short_text, (len(long_text) + 1) // 2)
    if not hm1 and not hm2:
        return None
    if not hm2:
        hm = hm1
    elif not hm1:
        hm = hm2
    else:
        hm = hm1 if len(hm1[4]) > len(hm2[4]) else hm2
    assert hm is not None
    if len(text1) > len(text2):
        return hm
    return [hm[2], hm[3], hm[0], hm[1], hm[4]]


def _half_match_at(long_text: str, short_text: str, i: int) -> list[str] | None:
    seed = long_text[i:i + len(long_text) // 4]
    j = -1
    best_common = ""
    best = ["", "", "", ""]
    while True:
        j = short_text.find(seed, j + 1)
        if j == -1:
            break
        prefix_length = common_prefix(long_text[i:], short_text[j:])
        suffix_length = common_suffix(long_text[:i], short_text[:j])
        if len(best_common) < suffix_length + prefix_length:
            best_common = short_text[j - suffix_length:j] + short_text[j:j + prefix_length]
            best = [long_text[:i - suffix_length], long_text[i + prefix_length:],
                    short_text[:j - suffix_length], short_text[j + prefix_length:]]
    if len(best_common) * 2 >= len(long_text):
        return [*best, best_common]
    return None
