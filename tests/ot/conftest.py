"""Fixtures of the OT tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ot.quill import Quill, start_quill


@pytest.fixture(scope="session")
def quill() -> Iterator[Quill]:
    """quill-delta 5.1.0 running in node (see ``tests/ot/quill.py``)."""
    yield from start_quill()
