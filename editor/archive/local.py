"""The embedded archive: one file per key under ``DATA_DIR/archive/``.

A put writes a temporary file in the key's own folder, fsyncs it, renames it over the
key (``os.replace`` is atomic on one file system) and fsyncs the folder, so a reader or
a crash sees the old object or the new one, never a part. Temporary names start with
``~``, outside the key alphabet, so no key can name one and ``list`` never shows one.
Blocking file I/O runs in worker threads.
"""

from __future__ import annotations

import os
import tempfile
from functools import partial
from pathlib import Path

import trio

from editor import logs
from editor.archive.base import ArchiveUnavailable
from editor.archive.layout import validate_key, validate_prefix

log = logs.get(__name__)
_TEMP_PREFIX = "~"


class LocalArchive:
    """An ``Archive`` in a local folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    async def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing it atomically: readers see all or nothing."""
        path = self._path(key)
        try:
            await trio.to_thread.run_sync(partial(self._write, path, bytes(data)))
        except (IsADirectoryError, NotADirectoryError, FileExistsError) as exc:
            raise ValueError(f"archive key {key!r} collides with a folder of keys") from exc
        except OSError as exc:
            log.warning("archive write failed", extra={"key": key, "error": str(exc)})
            raise ArchiveUnavailable(f"cannot write {key!r}: {exc}") from exc

    async def get(self, key: str) -> bytes:
        """The object under ``key``; ``KeyError`` when there is none."""
        path = self._path(key)
        try:
            return await trio.to_thread.run_sync(path.read_bytes)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise KeyError(key) from exc
        except OSError as exc:
            raise ArchiveUnavailable(f"cannot read {key!r}: {exc}") from exc

    async def list(self, prefix: str) -> list[str]:
        """Every key that starts with ``prefix``, sorted."""
        validate_prefix(prefix)
        try:
            return await trio.to_thread.run_sync(partial(_list_keys, self.root, prefix))
        except OSError as exc:
            raise ArchiveUnavailable(f"cannot list {prefix!r}: {exc}") from exc

    def _path(self, key: str) -> Path:
        path = self.root.joinpath(*validate_key(key).split("/"))
        # Valid keys cannot climb out; a symlink planted inside the root still could.
        if self.root.exists() and not path.resolve().is_relative_to(self.root.resolve()):
            raise ValueError(f"archive key {key!r} leads outside the archive")
        return path

    def _write(self, path: Path, data: bytes) -> None:
        self._make_folders(path.parent)
        fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=_TEMP_PREFIX + path.name)
        try:
            with os.fdopen(fd, "wb") as temp:
                temp.write(data)
                temp.flush()
                os.fsync(temp.fileno())
            os.replace(temp_name, path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise
        _fsync_folder(path.parent)

    def _make_folders(self, folder: Path) -> None:
        """Create ``folder`` and its missing parents, each made durable in its parent."""
        missing: list[Path] = []
        while not folder.is_dir():
            missing.append(folder)
            if folder == self.root or folder.parent == folder:
                break
            folder = folder.parent
        for created in reversed(missing):
            created.mkdir(parents=True, exist_ok=True)
            _fsync_folder(created.parent)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _list_keys(root: Path, prefix: str) -> list[str]:
    """The keys under ``root`` that start with ``prefix``, sorted."""
    # Walk only the deepest folder the prefix names, not the whole archive.
    folder_part = prefix.rpartition("/")[0]
    start = root.joinpath(*folder_part.split("/")) if folder_part else root
    if not start.is_dir():
        return []
    keys: list[str] = []
    for dirpath, dirnames, filenames in os.walk(start):
        dirnames[:] = [name for name in dirnames if not name.startswith(_TEMP_PREFIX)]
        relative = Path(dirpath).relative_to(root).as_posix()
        for name in filenames:
            key = name if relative == "." else f"{relative}/{name}"
            if key.startswith(prefix) and not name.startswith(_TEMP_PREFIX):
                keys.append(key)
    return sorted(keys)

