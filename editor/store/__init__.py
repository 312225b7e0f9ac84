"""Persistent storage behind one small interface, chosen by the database URL."""

from editor.store.base import (
    CommittedOp,
    Delta,
    DocumentMeta,
    DuplicateEmail,
    InvalidRefresh,
    Member,
    RefreshReuse,
    Snapshot,
    Store,
    StoreError,
    Unavailable,
    User,
    VersionConflict,
)


async def open_store(url: str) -> Store:
    """Open the store for ``url`` (``sqlite:///PATH``)."""
    from editor.store.sqlite import SqliteStore

    return await SqliteStore.open(url)


__all__ = [
    "CommittedOp", "Delta", "DocumentMeta", "DuplicateEmail", "InvalidRefresh", "Member",
    "RefreshReuse", "Snapshot", "Store", "StoreError", "Unavailable", "User", "VersionConflict",
    "open_store",
]
