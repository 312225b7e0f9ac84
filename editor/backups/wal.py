"""WAL archiving: PostgreSQL's ``archive_command`` stores each finished segment in the archive.

``archive_command = 'editor wal-archive %p %f'`` (with the EDITOR_* archive settings in the
server's environment) writes ``wal/{%f}``. PostgreSQL retries a segment until the command
succeeds, so it must be idempotent: a segment already archived with the same bytes is fine,
with other bytes it is an error (two clusters writing to one archive).
"""

from __future__ import annotations

import re
from pathlib import Path

import trio

from editor.archive import Archive

# A segment (TLI+log+seg), a timeline history, a backup history or a partial segment.
WAL_NAME = re.compile(r"^[0-9A-F]{24}(\.partial|\.[0-9A-F]{8}\.backup)?$|^[0-9A-F]{8}\.history$")


def wal_key(name: str) -> str:
    """``wal/{name}`` for a WAL file name; ``ValueError`` for anything else."""
    if not WAL_NAME.match(name):
        raise ValueError(f"{name!r} is not a WAL file name")
    return f"wal/{name}"


async def archive_wal(archive: Archive, path: Path, name: str) -> bool:
    """Store the WAL file at ``path`` as ``wal/{name}``; False when it was there already."""
    key = wal_key(name)
    data = await trio.to_thread.run_sync(path.read_bytes)
    try:
        existing = await archive.get(key)
    except KeyError:
        await archive.put(key, data)
        return True
    if existing != data:
        raise ValueError(f"{key} is archived already with other contents: is another cluster"
                         " archiving to this archive?")
    return False
