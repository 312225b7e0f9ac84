"""Point-in-time recovery: a base backup in the archive plus the archived WAL, replayed to a
moment into a new data directory.

``take_base_backup``: ``pg_basebackup`` (tar format, with the WAL it needs to be consistent)
to ``basebackups/{stamp}.tar``. ``prepare_pitr``: unpack one into an empty directory, fetch
the archived WAL from its start on into ``PGDATA/pitr_wal/``, and set
``restore_command``, ``recovery_target_time`` and ``recovery_target_action = 'promote'``
with ``recovery.signal``; started, the server replays up to the target and opens for writes.
Archiving is switched off in the copy (it would write a new timeline into the same archive).
"""

from __future__ import annotations

import os
import re
import tarfile
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path

import trio

from editor import logs
from editor.archive import Archive, ArchiveUnavailable, validate_key
from editor.backups.dump import BackupFailed
from editor.failover.tools import ToolFailed, Tools

log = logs.get(__name__)
_START = re.compile(r"START WAL LOCATION: \S+ \(file ([0-9A-F]{24})\)")


def base_backup_key(epoch_s: float) -> str:
    """``basebackups/YYYYMMDDTHHMMSSZ.tar``."""
    return f"basebackups/{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(epoch_s))}.tar"


async def take_base_backup(tools: Tools, url: str, archive: Archive) -> str:
    """A physical base backup of the server of ``url`` into the archive; its key."""
    with tempfile.TemporaryDirectory(prefix="editor-basebackup-") as folder:
        target = Path(folder) / "backup"
        try:
            await tools.run("pg_basebackup", "--dbname", url, "--pgdata", str(target),
                            "--format=tar", "--wal-method=fetch", "--checkpoint=fast",
                            "--no-sync")
        except ToolFailed as exc:
            raise BackupFailed(str(exc)) from exc
        data = await trio.to_thread.run_sync((target / "base.tar").read_bytes)
    key = base_backup_key(time.time())
    try:
        await archive.put(key, data)
    except ArchiveUnavailable as exc:
        raise BackupFailed(f"the archive refused {key}: {exc}") from exc
    log.info("base backup written", extra={"key": key, "bytes": len(data)})
    return key


@dataclass(frozen=True)
class PreparedRecovery:
    """What ``prepare_pitr`` set up."""

    pgdata: Path
    target_time: str
    wal_files: int


def check_target_time(text: str) -> str:
    """An ISO 8601 moment with its offset (PostgreSQL reads it as given); ``ValueError``."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone: add Z or +HH:MM")
    return moment.isoformat(sep=" ")


async def prepare_pitr(archive: Archive, base_key: str, target_time: str, pgdata: Path, *,
                       port: int | None = None) -> PreparedRecovery:
    """Rebuild ``pgdata`` (absent or empty) to replay to ``target_time`` when started."""
    moment = check_target_time(target_time)
    if await trio.to_thread.run_sync(_occupied, pgdata):
        raise BackupFailed(f"{pgdata} is not empty: restore into a new directory")
    try:
        validate_key(base_key)
        tar_bytes = await archive.get(base_key)
        wal_keys = await archive.list("wal/")
    except (ValueError, KeyError) as exc:
        raise BackupFailed(f"no base backup {base_key!r} in the archive") from exc
    except ArchiveUnavailable as exc:
        raise BackupFailed(f"the archive cannot be read: {exc}") from exc
    start = await trio.to_thread.run_sync(_unpack, tar_bytes, pgdata)
    wal_dir = pgdata / "pitr_wal"
    wanted = [key for key in wal_keys if _needed(key.removeprefix("wal/"), start)]
    for key in wanted:
        data = await archive.get(key)
        await trio.to_thread.run_sync((wal_dir / key.removeprefix("wal/")).write_bytes, data)
    settings = {
        "restore_command": f"cp '{wal_dir}/%f' '%p'",
        "recovery_target_time": moment,
        "recovery_target_action": "promote",
        "archive_mode": "off",
    }
    if port is not None:
        settings["port"] = str(port)
    await trio.to_thread.run_sync(_configure, pgdata, settings)
    log.warning("point-in-time recovery prepared", extra={
        "pgdata": str(pgdata), "base": base_key, "target_time": moment,
        "wal_files": len(wanted)})
    return PreparedRecovery(pgdata, moment, len(wanted))


def _occupied(pgdata: Path) -> bool:
    return pgdata.exists() and any(pgdata.iterdir())


def _needed(name: str, start_segment: str) -> bool:
    """History files always; segments from the backup's start on (any timeline)."""
    if name.endswith(".history"):
        return True
    return len(name) == 24 and name[8:] >= start_segment[8:]


def _unpack(tar_bytes: bytes, pgdata: Path) -> str:
    """Unpack the base backup; the WAL segment it starts in."""
    pgdata.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tarfile.open(fileobj=BytesIO(tar_bytes)) as tar:
        tar.extractall(pgdata, filter="tar")
    (pgdata / "pitr_wal").mkdir(exist_ok=True)
    match = _START.search((pgdata / "backup_label").read_text())
    if match is None:
        raise BackupFailed("the base backup has no backup_label start location")
    return match[1]


def _configure(pgdata: Path, settings: dict[str, str]) -> None:
    with open(pgdata / "postgresql.auto.conf", "a") as auto:
        for name, value in settings.items():
            auto.write(f"{name} = '{value.replace(chr(39), chr(39) * 2)}'\n")
    (pgdata / "recovery.signal").touch()
    pgdata.chmod(0o700)
    if os.geteuid() == 0:  # the server runs as the owner of the folder PGDATA is in
        owner = pgdata.parent.stat()
        for root, dirs, files in os.walk(pgdata):
            for name in [*dirs, *files]:
                os.chown(os.path.join(root, name), owner.st_uid, owner.st_gid)
        os.chown(pgdata, owner.st_uid, owner.st_gid)


async def start_server(tools: Tools, pgdata: Path, log_file: Path) -> None:
    """``pg_ctl start -w`` (as the owner of PGDATA when root)."""
    try:
        await tools.run("pg_ctl", "start", "-D", str(pgdata), "-l", str(log_file), "-w",
                        "-t", "300", data_dir=pgdata)
    except ToolFailed as exc:
        raise BackupFailed(str(exc)) from exc
