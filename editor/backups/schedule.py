"""Scheduled backups: a dump every ``EDITOR_BACKUP_EVERY_S`` (the archiver service runs it)."""

from __future__ import annotations

import time

import trio
from prometheus_client import Counter, Gauge

from editor import logs
from editor.archive import Archive
from editor.backups.dump import BackupFailed, take_backup
from editor.config import Config
from editor.failover.cluster import is_postgres_url
from editor.failover.tools import Tools, find_bindir

log = logs.get(__name__)
BACKUPS = Counter("editor_backups_total", "Scheduled database backups by result (ok, failed)",
                  ["result"])
LAST_BACKUP = Gauge("editor_backup_last_success_timestamp_seconds",
                    "When the last scheduled backup was written (Unix time)")


async def run_backup_schedule(cfg: Config, archive: Archive, *,
                              task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                              ) -> None:
    """Take a backup every ``backup_every_s`` (0: none; SQLite: none, with a warning)."""
    if cfg.backup_every_s <= 0:
        task_status.started()
        return
    if not is_postgres_url(cfg.effective_database_url):
        log.warning("EDITOR_BACKUP_EVERY_S is set but the database is SQLite: no scheduled"
                    " backups (use sqlite3 .backup, docs/operations.md)")
        task_status.started()
        return
    tools = Tools(find_bindir(cfg.postgres_bindir))
    log.info("scheduled backups", extra={"every_s": cfg.backup_every_s})
    task_status.started()
    while True:
        await trio.sleep(cfg.backup_every_s)
        try:
            await take_backup(tools, cfg.effective_database_url, archive)
        except BackupFailed as exc:
            BACKUPS.labels("failed").inc()
            log.error("scheduled backup failed; next one in every_s",
                      extra={"error": str(exc), "every_s": cfg.backup_every_s})
            continue
        BACKUPS.labels("ok").inc()
        LAST_BACKUP.set(time.time())
