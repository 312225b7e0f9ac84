"""The store contract runs against every backend of ``opened_store``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from editor.backends import opened_store
from editor.store import Store

STORE_BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=STORE_BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh, empty database of each backend (set up outside Trio)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'contract.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    """A fresh, empty store of each backend."""
    async with opened_store(store_url) as opened:
        yield opened


@pytest.fixture
async def other_store(store_url: str, store: Store) -> AsyncIterator[Store]:
    """A second connection to the same database as ``store``, as another process has."""
    async with opened_store(store_url) as opened:
        yield opened
