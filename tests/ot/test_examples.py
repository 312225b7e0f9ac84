"""quill-delta's documented examples give the documented results."""

from __future__ import annotations

from typing import Any

import pytest

import editor.ot as ot
from tests.ot.examples import EXAMPLES


@pytest.mark.parametrize(("function", "args", "expected"), EXAMPLES)
def test_documented_example(function: str, args: list[Any], expected: Any) -> None:
    assert getattr(ot, function)(*args) == expected
