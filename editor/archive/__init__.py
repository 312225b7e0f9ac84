"""The archive: snapshots and backups in an object store (a local folder embedded)."""

from editor.archive.base import Archive, ArchiveUnavailable
from editor.archive.layout import (
    backup_key,
    snapshot_body,
    snapshot_key,
    validate_key,
    validate_prefix,
)
from editor.archive.local import LocalArchive

__all__ = [
    "Archive", "ArchiveUnavailable", "LocalArchive", "backup_key", "snapshot_body",
    "snapshot_key", "validate_key", "validate_prefix",
]
