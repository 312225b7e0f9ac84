"""The archive's seam: an object store for snapshots and backups.

    ArchiveUnavailable   the store cannot be reached; the caller retries later
    ValueError           a key outside the layout's alphabet (``layout.validate_key``)
    KeyError             ``get`` of a key that holds nothing

Every backend (a local folder embedded, S3 / MinIO distributed) implements ``Archive``
and passes ``tests/contract/test_archive_contract.py``.
"""

from __future__ import annotations

from typing import Protocol


class ArchiveUnavailable(Exception):
    """The archive cannot be reached or failed to store; nothing partial is visible."""


class Archive(Protocol):
    """Objects by key: written whole, read whole, listed by prefix."""

    async def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing it atomically: readers see all or nothing."""

    async def get(self, key: str) -> bytes:
        """The object under ``key``; ``KeyError`` when there is none."""

    async def list(self, prefix: str) -> list[str]:
        """Every key that starts with ``prefix``, sorted."""
