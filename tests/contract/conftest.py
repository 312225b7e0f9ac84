"""The store contract runs against every backend of ``open_store``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from editor.backends import open_store
from editor.store import Store

STORE_BACKENDS = ["sqlite"]  # each new backend joins here and must pass the same tests


@pytest.fixture(params=STORE_BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh, empty store of each backend."""
    assert request.param == "sqlite"
    opened = await open_store(f"sqlite:///{tmp_path / 'contract.db'}")
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
async def other_store(request: pytest.FixtureRequest, store: Store, tmp_path: Path
                      ) -> AsyncIterator[Store]:
    """A second connection to the same database as ``store``, as another process has."""
    opened = await open_store(f"sqlite:///{tmp_path / 'contract.db'}")
    try:
        yield opened
    finally:
        await opened.close()
