"""UTF-16 code-unit counting and splitting of Python strings (quill-delta counts UTF-16 units).

Python strings hold code points; JavaScript strings hold UTF-16 code units, so a character
outside the Basic Multilingual Plane (an emoji) is 1 in Python and 2 in quill-delta. Every
length in ``editor.ot`` is in UTF-16 units. A split that would fall between the two halves of
a surrogate pair cannot be represented in a well-formed Python string: it raises
``SplitSurrogate`` (only invalid ops can ask for one, see ``validate``).
"""

from __future__ import annotations

import re

__all__ = ["SplitSurrogate", "has_lone_surrogate", "split", "to_code_units", "utf16_len"]

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class SplitSurrogate(ValueError):
    """A UTF-16 boundary falls inside a surrogate pair (inside one astral character)."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (JavaScript's ``text.length``)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) >> 1


def split(text: str, units: int) -> tuple[str, str]:
    """``(text[:units], text[units:])`` with ``units`` counted in UTF-16 code units."""
    if text.isascii():
        return text[:units], text[units:]
    encoded = text.encode("utf-16-le", "surrogatepass")
    if len(encoded) == 2 * len(text):
        return text[:units], text[units:]
    cut = 2 * units
    if 0 < cut < len(encoded) and 0xDC <= encoded[cut + 1] <= 0xDF:
        raise SplitSurrogate(f"UTF-16 offset {units} splits a surrogate pair")
    return (encoded[:cut].decode("utf-16-le", "surrogatepass"),
            encoded[cut:].decode("utf-16-le", "surrogatepass"))


def has_lone_surrogate(text: str) -> bool:
    """Whether ``text`` holds a surrogate code point (a lone half of a UTF-16 pair)."""
    return not text.isascii() and _SURROGATE.search(text) is not None


def _as_pair(match: re.Match[str]) -> str:
    code = ord(match.group()) - 0x10000
    return chr(0xD800 + (code >> 10)) + chr(0xDC00 + (code & 0x3FF))


def to_code_units(text: str) -> str:
    """``text`` with each astral character replaced by its two surrogates, one per code unit."""
    if text.isascii():
        return text
    return _ASTRAL.sub(_as_pair, text)
