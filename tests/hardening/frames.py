"""Hypothesis strategies for client messages: valid, nearly valid and hostile (issue 18)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

# Text that stresses the UTF-16 rules: astral characters, lone surrogates (sent as JSON
# escapes), controls, NUL, bidi overrides, the final newline.
_CHARS = st.characters(min_codepoint=0, max_codepoint=0x10FFFF) | st.sampled_from(
    ["\n", "\x00", "\U0001F600", "\u202e", "\ud83d", "\ude00", "é", " "])
TEXT = st.text(_CHARS, max_size=12) | st.sampled_from(
    ["<script>alert(1)</script>", "\n", "\U0001F600", "x" * 2000])
_NUMBERS = (st.integers(min_value=-3, max_value=40) | st.integers() | st.booleans()
            | st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([2**53, 2**64]))
JSON_LEAF = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT
JSON_VALUE = st.recursive(JSON_LEAF, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(TEXT, inner, max_size=3), max_leaves=6)
ATTRIBUTES = st.dictionaries(st.sampled_from(["bold", "italic", "link", "color", "header",
                                              "list", "x", ""]),
                             JSON_VALUE, max_size=3)
EMBED = (st.dictionaries(st.sampled_from(["image", "video", "formula", "x"]), JSON_VALUE,
                         min_size=0, max_size=2))
_OP = st.one_of(
    st.fixed_dictionaries({"insert": TEXT | EMBED}, optional={"attributes": ATTRIBUTES}),
    st.fixed_dictionaries({"retain": _NUMBERS}, optional={"attributes": ATTRIBUTES}),
    st.fixed_dictionaries({"delete": _NUMBERS}),
    st.dictionaries(st.sampled_from(["insert", "retain", "delete", "attributes", "junk"]),
                    JSON_VALUE, max_size=3),
    JSON_VALUE,
)
DELTA = st.lists(_OP, max_size=5)


@dataclass(frozen=True)
class ValidOp:
    """An honest op: the fuzzer fills in the next seq and the version it knows."""

    text: str
    attributes: dict[str, Any] | None


@dataclass(frozen=True)
class Raw:
    """A message sent as it is (text or bytes)."""

    message: str | bytes


@dataclass(frozen=True)
class Behind:
    """A version ``count`` below the head the fuzzer knows when it sends the frame."""

    count: int


@dataclass(frozen=True)
class Template:
    """A frame object sent as JSON once its ``Behind`` fields are filled in: nearly valid
    ops and cursors are based near the head, as real clients' are, whatever its height."""

    frame: dict[str, Any]

    def message(self, head: int) -> str:
        """The frame as sent by a client at ``head``."""
        return _dump({key: max(0, head - value.count) if isinstance(value, Behind) else value
                      for key, value in self.frame.items()})


def _dump(frame: Any) -> str:
    return json.dumps(frame)  # escapes lone surrogates and writes NaN, as hostile peers may




def _mostly(common: st.SearchStrategy[Any], rare: st.SearchStrategy[Any],
            rare_percent: int) -> st.SearchStrategy[Any]:
    """``common``, and ``rare`` in about ``rare_percent`` of draws."""
    return st.integers(0, 99).flatmap(lambda n: rare if n < rare_percent else common)


# Most nearly-valid frames parse, so they reach the sequencer and the OT checks; a few do
# not (bad_request, close 4400).
_JUNK = _NUMBERS | st.none() | TEXT
_SEQ = _mostly(st.integers(min_value=1, max_value=60), _JUNK | st.integers(-2, 0), 2)
# Mostly up to 3,000 versions behind the head (the server keeps 2,000 in memory: older bases
# are read from the store); now and then an absolute one, which may be far behind.
_VERSION = _mostly(st.builds(Behind, st.integers(min_value=0, max_value=3000)),
                   _JUNK | st.just(-1) | st.integers(min_value=0, max_value=3000), 2)

_VALID_OP = st.builds(
    ValidOp, st.text(st.characters(min_codepoint=0x20, max_codepoint=0x10FFFF,
                                   exclude_categories=["Cs"]), min_size=1, max_size=6),
    st.none() | st.sampled_from([{"bold": True}, {"italic": True}, {"color": "#e60000"}]))
_NEARLY_VALID_OP = st.builds(
    lambda seq, version, delta, extra: Template({"type": "op", "seq": seq, "version": version,
                                                 "delta": delta, **extra}),
    _SEQ, _VERSION, _mostly(DELTA, JSON_VALUE, 3),
    st.dictionaries(st.sampled_from(["extra", "client_id"]), JSON_LEAF, max_size=1))
_CURSOR = st.builds(
    lambda version, index, length: Template({"type": "cursor", "version": version,
                                             "index": index, "length": length}),
    _VERSION, _mostly(st.none() | st.integers(0, 3000), _JUNK, 3),
    _mostly(st.integers(0, 3000), _JUNK, 3))
_PING = st.builds(lambda t: Raw(_dump({"type": "ping", "t": t})), JSON_VALUE)
_HOSTILE = st.one_of(
    st.builds(lambda v: Raw(_dump(v)), JSON_VALUE),  # not an object, or no known type
    st.builds(lambda kind, rest: Raw(_dump({"type": kind, **rest})),
              st.sampled_from(["op", "cursor", "ping", "hello", "welcome", "ack", "", "OP"]),
              st.dictionaries(st.sampled_from(["seq", "version", "delta", "t", "index"]),
                              JSON_VALUE, max_size=2)),
    st.builds(lambda t: Raw(_dump({"type": "hello", "token": t, "client_id": "x",
                                   "version": None})), TEXT),
    st.sampled_from([Raw("{"), Raw(""), Raw("[" * 5000 + "]" * 5000),
                     Raw('{"type": "ping", "t": ' + "[" * 3000 + "]" * 3000 + "}"),
                     Raw(b"\x00binary"), Raw("\ufeff{}"),
                     Raw('{"type":"op","seq":1,"version":0,"delta":[{"insert":"\\ud800"}]}')]),
    st.builds(lambda text: Raw(text), TEXT),
)
FRAME = st.one_of(
    _VALID_OP, _VALID_OP, _NEARLY_VALID_OP, _NEARLY_VALID_OP, _NEARLY_VALID_OP,
    _CURSOR, _PING,
    _mostly(_NEARLY_VALID_OP, _HOSTILE, 4),
)
BATCH = st.lists(FRAME, min_size=40, max_size=80)
