"""quill-delta's documented examples (README and docs), as fixed cases.

Each case is ``(function, args, expected)``; the differential test also runs them through
quill-delta itself, so the expectations are checked against both implementations.
"""

from __future__ import annotations

from typing import Any

GANDALF = [
    {"insert": "Gandalf", "attributes": {"bold": True}},
    {"insert": " the "},
    {"insert": "Grey", "attributes": {"color": "#ccc"}},
]
DEATH = [{"retain": 12}, {"insert": "White", "attributes": {"color": "#fff"}}, {"delete": 4}]

EXAMPLES: list[tuple[str, list[Any], Any]] = [
    # README: "Gandalf the Grey" becomes "Gandalf the White".
    ("compose", [GANDALF, DEATH], [
        {"insert": "Gandalf", "attributes": {"bold": True}},
        {"insert": " the "},
        {"insert": "White", "attributes": {"color": "#fff"}},
    ]),
    # README compose(): insert "abc", then delete its "b".
    ("compose", [[{"insert": "abc"}], [{"retain": 1}, {"delete": 1}]], [{"insert": "ac"}]),
    # README format example: unbold and italicize "Gandalf".
    ("compose", [GANDALF, [{"retain": 7, "attributes": {"bold": None, "italic": True}}]], [
        {"insert": "Gandalf", "attributes": {"italic": True}},
        {"insert": " the "},
        {"insert": "Grey", "attributes": {"color": "#ccc"}},
    ]),
    # README diff().
    ("diff", [[{"insert": "Hello"}], [{"insert": "Hello!"}]],
     [{"retain": 5}, {"insert": "!"}]),
    # README invert().
    ("invert", [[{"retain": 6, "attributes": {"bold": True}}, {"insert": "!"}, {"delete": 5}],
                [{"insert": "Hello\nWorld"}]],
     [{"retain": 6, "attributes": {"bold": None}}, {"insert": "World"}, {"delete": 1}]),
    # README transform(), with and without priority.
    ("transform", [[{"insert": "a"}], [{"insert": "b"}, {"retain": 5}, {"insert": "c"}], True],
     [{"retain": 1}, {"insert": "b"}, {"retain": 5}, {"insert": "c"}]),
    ("transform", [[{"insert": "a"}], [{"insert": "b"}, {"retain": 5}, {"insert": "c"}], False],
     [{"insert": "b"}, {"retain": 6}, {"insert": "c"}]),
    # README transformPosition().
    ("transform_position", [[{"retain": 5}, {"insert": "a"}], 4, False], 4),
    ("transform_position", [[{"retain": 5}, {"insert": "a"}], 5, False], 6),
    # quill-delta's own test suite, a few classics.
    ("compose", [[{"insert": "A"}], [{"insert": "B"}]], [{"insert": "BA"}]),
    ("compose", [[{"delete": 1}], [{"delete": 1}]], [{"delete": 2}]),
    ("compose", [[{"insert": "Hello"}], [{"retain": 1}, {"delete": 3}]], [{"insert": "Ho"}]),
    ("compose", [[{"insert": "A", "attributes": {"bold": True, "color": "red"}}],
                 [{"retain": 1, "attributes": {"bold": None}}]],
     [{"insert": "A", "attributes": {"color": "red"}}]),
    ("compose", [[{"retain": 1, "attributes": {"color": "blue"}}],
                 [{"retain": 1, "attributes": {"bold": True, "color": "red"}}]],
     [{"retain": 1, "attributes": {"bold": True, "color": "red"}}]),
    ("compose", [[{"insert": "Hello"}], [{"retain": 3}, {"insert": "X"}]],
     [{"insert": "HelXlo"}]),
    ("transform", [[{"retain": 1, "attributes": {"bold": True, "color": "red"}}],
                   [{"retain": 1, "attributes": {"bold": False, "color": "blue", "font": "serif"}}],
                   True],
     [{"retain": 1, "attributes": {"font": "serif"}}]),
    ("transform", [[{"delete": 1}], [{"delete": 1}], True], []),
    ("transform", [[{"retain": 1}, {"insert": "A"}], [{"delete": 2}], False],
     [{"delete": 1}, {"retain": 1}, {"delete": 1}]),
    ("diff", [[{"insert": "A"}], [{"insert": "A", "attributes": {"bold": True}}]],
     [{"retain": 1, "attributes": {"bold": True}}]),
    ("diff", [[{"insert": {"image": "a.png"}}], [{"insert": {"image": "b.png"}}]],
     [{"insert": {"image": "b.png"}}, {"delete": 1}]),
    ("diff", [[{"insert": "Bad"}], [{"insert": "Good"}]],
     [{"insert": "Goo"}, {"delete": 2}]),
    ("transform_position", [[{"delete": 2}], 4, False], 2),
    ("transform_position", [[{"insert": "A"}], 0, True], 0),
]
