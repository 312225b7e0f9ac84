"""Logical backups: ``pg_dump -Fc`` into the archive, ``pg_restore`` into an empty database."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import trio

from editor import logs
from editor.archive import Archive, ArchiveUnavailable, backup_key, validate_key
from editor.failover.tools import ToolFailed, Tools

log = logs.get(__name__)

# Relations outside the system schemas: a database with none is empty.
_USER_RELATIONS = (
    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')"
    " AND n.nspname NOT LIKE 'pg\\_%'")


class BackupFailed(Exception):
    """A backup or restore did not happen (the message says why)."""


async def take_backup(tools: Tools, url: str, archive: Archive, *,
                      now_s: float | None = None) -> str:
    """Dump the database of ``url`` to ``backups/{stamp}.dump``; the key."""
    started = time.monotonic()
    try:
        dump = await tools.run("pg_dump", "--format=custom", "--dbname", url)
    except ToolFailed as exc:
        raise BackupFailed(str(exc)) from exc
    key = backup_key(time.time() if now_s is None else now_s)
    try:
        await archive.put(key, dump)
    except ArchiveUnavailable as exc:
        raise BackupFailed(f"the archive refused {key}: {exc}") from exc
    log.info("backup written", extra={"key": key, "bytes": len(dump),
                                      "elapsed_s": round(time.monotonic() - started, 3)})
    return key


async def restore_backup(tools: Tools, url: str, archive: Archive, key: str) -> None:
    """Load the dump ``key`` into the database of ``url``, which must be empty."""
    try:
        validate_key(key)
        dump = await archive.get(key)
    except (ValueError, KeyError) as exc:
        raise BackupFailed(f"no backup {key!r} in the archive") from exc
    except ArchiveUnavailable as exc:
        raise BackupFailed(f"the archive cannot be read: {exc}") from exc
    try:
        rows = await tools.query(url, _USER_RELATIONS)
    except ToolFailed as exc:
        raise BackupFailed(str(exc)) from exc
    if rows[0][0] != "0":
        raise BackupFailed(f"the target database is not empty ({rows[0][0]} tables, indexes or"
                           " sequences): restore into a new database (createdb) instead")
    with tempfile.TemporaryDirectory(prefix="editor-restore-") as folder:
        path = Path(folder) / "backup.dump"
        await trio.to_thread.run_sync(path.write_bytes, dump)
        try:
            await tools.run("pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                            "--single-transaction", "--dbname", url, str(path))
        except ToolFailed as exc:
            raise BackupFailed(str(exc)) from exc
    log.info("backup restored", extra={"key": key, "bytes": len(dump)})
