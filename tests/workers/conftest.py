"""Fixtures of the worker tests: a fresh SQLite store and an in-process stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from editor.archive import LocalArchive
from editor.bus import MemorySnapshotCache
from editor.events.memory import MemoryEventStream
from editor.store.sqlite import SqliteStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    """A fresh SQLite store."""
    with trio.fail_after(30):
        opened = await SqliteStore.open(f"sqlite:///{tmp_path}/t.db")
    yield opened
    await opened.close()


@pytest.fixture
def stream() -> MemoryEventStream:
    """The embedded event stream."""
    return MemoryEventStream(partitions=4)


@pytest.fixture
def cache() -> MemorySnapshotCache:
    """The embedded snapshot cache."""
    return MemorySnapshotCache()


@pytest.fixture
def archive(tmp_path: Path) -> LocalArchive:
    """The embedded archive in a private folder."""
    return LocalArchive(tmp_path / "archive")
