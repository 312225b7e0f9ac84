"""Database backups and recovery: ``pg_dump`` dumps, WAL archiving, point-in-time restore.

- ``take_backup`` / ``restore_backup``: a custom-format dump to ``backups/{stamp}.dump`` in
  the archive, and back into an empty database (``editor backup``, ``editor restore-backup``);
  ``run_backup_schedule`` takes one every ``EDITOR_BACKUP_EVERY_S`` in the archiver service.
- ``archive_wal``: PostgreSQL's ``archive_command`` (``editor wal-archive %p %f``) stores each
  WAL segment at ``wal/{name}``; ``take_base_backup`` stores ``basebackups/{stamp}.tar``;
  ``prepare_pitr`` rebuilds a data directory that replays to a moment
  (``editor base-backup``, ``editor restore-pitr``). See docs/runbooks/BackupRestore.md.
"""

from editor.backups.dump import BackupFailed, restore_backup, take_backup
from editor.backups.pitr import prepare_pitr, take_base_backup
from editor.backups.schedule import run_backup_schedule
from editor.backups.store import opened_archive
from editor.backups.wal import archive_wal

__all__ = ["BackupFailed", "archive_wal", "opened_archive", "prepare_pitr", "restore_backup",
           "run_backup_schedule", "take_backup", "take_base_backup"]
