"""The embedded store: every store Protocol on one SQLite file."""

from __future__ import annotations

from pathlib import Path

import trio

from editor.store.sqlite.accounts import SqliteAccounts
from editor.store.sqlite.documents import SqliteDocuments
from editor.store.sqlite.invitations import SqliteInvitations
from editor.store.sqlite.oplog import SqliteOpLog
from editor.store.sqlite.outbox import SqliteOutbox


class SqliteStore(SqliteOpLog, SqliteDocuments, SqliteAccounts, SqliteInvitations,
                  SqliteOutbox):
    """``Store`` on one SQLite file (``sqlite:///PATH``)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._appends = []
        self._appending = False

    @classmethod
    async def open(cls, url: str) -> SqliteStore:
        """Open (creating if needed) the database at ``sqlite:///PATH``."""
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return await trio.to_thread.run_sync(cls, path)


__all__ = ["SqliteStore"]
