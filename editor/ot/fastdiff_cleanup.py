"""fast-diff 1.3.0's clean-up passes (merge, semantic, semantic lossless) and string helpers.

Part of the port in ``fastdiff``: texts are strings of UTF-16 code units. JavaScript's
``substring`` clamps negative indexes to 0 where Python's slices count from the end; every
such place is clamped explicitly.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["DELETE", "EQUAL", "INSERT", "Diffs", "cleanup_merge", "cleanup_semantic",
           "common_overlap", "common_prefix", "common_suffix", "is_high", "is_low"]

DELETE, EQUAL, INSERT = -1, 0, 1

Diffs = list[list[Any]]  # [[operation, text], ...], changed in place as in diff.js

def is_high(char: str) -> bool:
    """Whether ``char`` is a high (leading) surrogate."""
    return "\ud800" <= char <= "\udbff"


def is_low(char: str) -> bool:
    """Whether ``char`` is a low (trailing) surrogate."""
    return "\udc00" <= char <= "\udfff"


def common_prefix(text1: str, text2: str) -> int:
    """Length of the common prefix, never ending between the halves of a surrogate pair."""
    if not text1 or not text2 or text1[0] != text2[0]:
        return 0
    low, high = 0, min(len(text1), len(text2))
    mid, start = high, 0
    while low < mid:
        if text1[start:mid] == text2[start:mid]:
            low = mid
            start = low
        else:
            high = mid
        mid = (high - low) // 2 + low
    if mid > 0 and is_high(text1[mid - 1]):
        mid -= 1
    return mid


def common_suffix(text1: str, text2: str) -> int:
    """Length of the common suffix, never starting between the halves of a surrogate pair."""
    if not text1 or not text2 or text1[-1] != text2[-1]:
        return 0
    low, high = 0, min(len(text1), len(text2))
    mid, end = high, 0
    len1, len2 = len(text1), len(text2)
    while low < mid:
        if text1[len1 - mid:len1 - end] == text2[len2 - mid:len2 - end]:
            low = mid
            end = low
        else:
            high = mid
        mid = (high - low) // 2 + low
    if mid > 0 and is_low(text1[len1 - mid]):
        mid -= 1
    return mid


def common_overlap(text1: str, text2: str) -> int:
    """Length of the longest suffix of ``text1`` that is a prefix of ``text2``."""
    len1, len2 = len(text1), len(text2)
    if len1 == 0 or len2 == 0:
        return 0
    if len1 > len2:
        text1 = text1[len1 - len2:]
    elif len1 < len2:
        text2 = text2[:len1]
    text_length = min(len1, len2)
    if text1 == text2:
        return text_length
    best = 0
    length = 1
    while True:
        pattern = text1[text_length - length:]
        found = text2.find(pattern)
        if found == -1:
            return best
        length += found
        if found == 0 or text1[text_length - length:] == text2[:length]:
            best = length
            length += 1


def _ends_with_pair_start(text: str) -> bool:
    return bool(text) and is_high(text[-1])


def _starts_with_pair_end(text: str) -> bool:
    return bool(text) and is_low(text[0])


def cleanup_merge(diffs: Diffs, fix_unicode: bool = False) -> None:
    """Reorder and merge like edit sections; merge equalities (``diff_cleanupMerge``)."""
    diffs.append([EQUAL, ""])
    pointer = 0
    count_delete = count_insert = 0
    text_delete = text_insert = ""
    while pointer < len(diffs):
        if pointer < len(diffs) - 1 and not diffs[pointer][1]:
            del diffs[pointer]
            continue
        operation = diffs[pointer][0]
        if operation == INSERT:
            count_insert += 1
            text_insert += diffs[pointer][1]
            pointer += 1
            continue
        if operation == DELETE:
            count_delete += 1
            text_delete += diffs[pointer][1]
            pointer += 1
            continue
        previous_equality = pointer - count_insert - count_delete - 1
        if fix_unicode:
            # Shave stray halves of surrogate pairs off the equalities around the edit.
            if previous_equality >= 0 and _ends_with_pair_start(diffs[previous_equality][1]):
                stray = diffs[previous_equality][1][-1]
                diffs[previous_equality][1] = diffs[previous_equality][1][:-1]
                text_delete = stray + text_delete
                text_insert = stray + text_insert
                if not diffs[previous_equality][1]:
                    del diffs[previous_equality]
                    pointer -= 1
                    k = previous_equality - 1
                    if k >= 0 and diffs[k][0] == INSERT:
                        count_insert += 1
                        text_insert = diffs[k][1] + text_insert
                        k -= 1
                    if k >= 0 and diffs[k][0] == DELETE:
                        count_delete += 1
                        text_delete = diffs[k][1] + text_delete
                        k -= 1
                    previous_equality = k
            if _starts_with_pair_end(diffs[pointer][1]):
                stray = diffs[pointer][1][0]
                diffs[pointer][1] = diffs[pointer][1][1:]
                text_delete += stray
                text_insert += stray
        if pointer < len(diffs) - 1 and not diffs[pointer][1]:
            del diffs[pointer]
            continue
        if text_delete or text_insert:
            if text_delete and text_insert:
                common = common_prefix(text_insert, text_delete)
                if common:
                    if previous_equality >= 0:
                        diffs[previous_equality][1] += text_insert[:common]
                    else:
                        diffs.insert(0, [EQUAL, text_insert[:common]])
                        pointer += 1
                    text_insert = text_insert[common:]
                    text_delete = text_delete[common:]
                common = common_suffix(text_insert, text_delete)
                if common:
                    diffs[pointer][1] = text_insert[len(text_insert) - common:] + diffs[pointer][1]
                    text_insert = text_insert[:len(text_insert) - common]
                    text_delete = text_delete[:len(text_delete) - common]
            n = count_insert + count_delete
            if not text_delete and not text_insert:
                diffs[pointer - n:pointer] = []
                pointer -= n
            elif not text_delete:
                diffs[pointer - n:pointer] = [[INSERT, text_insert]]
                pointer = pointer - n + 1
            elif not text_insert:
                diffs[pointer - n:pointer] = [[DELETE, text_delete]]
                pointer = pointer - n + 1
            else:
                diffs[pointer - n:pointer] = [[DELETE, text_delete], [INSERT, text_insert]]
                pointer = pointer - n + 2
        if pointer != 0 and diffs[pointer - 1][0] == EQUAL:
            diffs[pointer - 1][1] += diffs[pointer][1]
            del diffs[pointer]
        else:
            pointer += 1
        count_insert = count_delete = 0
        text_delete = text_insert = ""
    if diffs[-1][1] == "":
        diffs.pop()
    # Second pass: single edits surrounded by equalities that can shift to remove one.
    changes = False
    pointer = 1
    while pointer < len(diffs) - 1:
        before, edit, after = diffs[pointer - 1], diffs[pointer], diffs[pointer + 1]
        if before[0] == EQUAL and after[0] == EQUAL:
            cut = max(0, len(edit[1]) - len(before[1]))
            if edit[1][cut:] == before[1]:
                edit[1] = before[1] + edit[1][:cut]
                after[1] = before[1] + after[1]
                del diffs[pointer - 1]
                changes = True
            elif edit[1][:len(after[1])] == after[1]:
                before[1] += after[1]
                edit[1] = edit[1][len(after[1]):] + after[1]
                del diffs[pointer + 1]
                changes = True
        pointer += 1
    if changes:
        cleanup_merge(diffs, fix_unicode)


def cleanup_semantic(diffs: Diffs) -> None:
    """Remove semantically trivial equalities, then align edits (``diff_cleanupSemantic``)."""
    changes = False
    # diff.js keeps a stack of equality indexes whose length may go below zero, and then
    # writes to negative slots; a dict reproduces exactly which equality it resumes from.
    equalities: dict[int, int] = {}
    equalities_length = 0
    last_equality: str | None = None
    pointer = 0
    insertions1 = deletions1 = insertions2 = deletions2 = 0
    while pointer < len(diffs):
        if diffs[pointer][0] == EQUAL:
            equalities[equalities_length] = pointer
            equalities_length += 1
            insertions1, deletions1 = insertions2, deletions2
            insertions2 = deletions2 = 0
            last_equality = diffs[pointer][1]
        else:
            if diffs[pointer][0] == INSERT:
                insertions2 += len(diffs[pointer][1])
            else:
                deletions2 += len(diffs[pointer][1])
            if (last_equality
                    and len(last_equality) <= max(insertions1, deletions1)
                    and len(last_equality) <= max(insertions2, deletions2)):
                where = equalities[equalities_length - 1]
                diffs.insert(where, [DELETE, last_equality])
                diffs[where + 1][0] = INSERT
                equalities_length -= 2
                pointer = equalities[equalities_length - 1] if equalities_length > 0 else -1
                insertions1 = deletions1 = insertions2 = deletions2 = 0
                last_equality = None
                changes = True
        pointer += 1
    if changes:
        cleanup_merge(diffs)
    _cleanup_semantic_lossless(diffs)
    # Extract overlaps between a deletion and the insertion after it, when big enough.
    pointer = 1
    while pointer < len(diffs):
        if diffs[pointer - 1][0] == DELETE and diffs[pointer][0] == INSERT:
            deletion = diffs[pointer - 1][1]
            insertion = diffs[pointer][1]
            overlap1 = common_overlap(deletion, insertion)
            overlap2 = common_overlap(insertion, deletion)
            if overlap1 >= overlap2:
                if overlap1 >= len(deletion) / 2 or overlap1 >= len(insertion) / 2:
                    diffs.insert(pointer, [EQUAL, insertion[:overlap1]])
                    diffs[pointer - 1][1] = deletion[:len(deletion) - overlap1]
                    diffs[pointer + 1][1] = insertion[overlap1:]
                    pointer += 1
            elif overlap2 >= len(deletion) / 2 or overlap2 >= len(insertion) / 2:
                diffs.insert(pointer, [EQUAL, deletion[:overlap2]])
                diffs[pointer - 1] = [INSERT, insertion[:len(insertion) - overlap2]]
                diffs[pointer + 1] = [DELETE, deletion[overlap2:]]
                pointer += 1
            pointer += 1
        pointer += 1


# JavaScript's \s, which differs from Python's (no \x1c-\x1f or \x85; adds \ufeff).
_JS_SPACE = "\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008" \
            "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_BLANK_LINE_END = re.compile(r"\n\r?\n\Z")
_BLANK_LINE_START = re.compile(r"\r?\n\r?\n")


def _is_alphanumeric(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _semantic_score(one: str, two: str) -> int:
    """How well a boundary between ``one`` and ``two`` falls on a logical boundary (0 to 6)."""
    if not one or not two:
        return 6
    char1, char2 = one[-1], two[0]
    non_alphanumeric1 = not _is_alphanumeric(char1)
    non_alphanumeric2 = not _is_alphanumeric(char2)
    whitespace1 = non_alphanumeric1 and char1 in _JS_SPACE
    whitespace2 = non_alphanumeric2 and char2 in _JS_SPACE
    line_break1 = whitespace1 and char1 in "\r\n"
    line_break2 = whitespace2 and char2 in "\r\n"
    blank_line1 = line_break1 and _BLANK_LINE_END.search(one) is not None
    blank_line2 = line_break2 and _BLANK_LINE_START.match(two) is not None
    if blank_line1 or blank_line2:
        return 5
    if line_break1 or line_break2:
        return 4
    if non_alphanumeric1 and not whitespace1 and whitespace2:
        return 3
    if whitespace1 or whitespace2:
        return 2
    if non_alphanumeric1 or non_alphanumeric2:
        return 1
    return 0


def _cleanup_semantic_lossless(diffs: Diffs) -> None:
    """Shift single edits sideways onto word boundaries (``diff_cleanupSemanticLossless``)."""
    pointer = 1
    while pointer < len(diffs) - 1:
        if diffs[pointer - 1][0] == EQUAL and diffs[pointer + 1][0] == EQUAL:
            equality1 = diffs[pointer - 1][1]
            edit = diffs[pointer][1]
            equality2 = diffs[pointer + 1][1]
            common = common_suffix(equality1, edit)
            if common:
                common_string = edit[len(edit) - common:]
                equality1 = equality1[:len(equality1) - common]
                edit = common_string + edit[:len(edit) - common]
                equality2 = common_string + equality2
            best_equality1, best_edit, best_equality2 = equality1, edit, equality2
            best_score = _semantic_score(equality1, edit) + _semantic_score(edit, equality2)
            while edit[:1] == equality2[:1]:
                equality1 += edit[0]
                edit = edit[1:] + equality2[0]
                equality2 = equality2[1:]
                score = _semantic_score(equality1, edit) + _semantic_score(edit, equality2)
                # >= prefers trailing rather than leading whitespace on edits.
                if score >= best_score:
                    best_score = score
                    best_equality1, best_edit, best_equality2 = equality1, edit, equality2
            if diffs[pointer - 1][1] != best_equality1:
                if best_equality1:
                    diffs[pointer - 1][1] = best_equality1
                else:
                    del diffs[pointer - 1]
                    pointer -= 1
                diffs[pointer][1] = best_edit
                if best_equality2:
                    diffs[pointer + 1][1] = best_equality2
                else:
                    del diffs[pointer + 1]
                    pointer -= 1
        pointer += 1
