"""The archive of a config, opened on its own (backup commands open no database store)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from editor.archive import Archive, LocalArchive
from editor.config import Config


@asynccontextmanager
async def opened_archive(cfg: Config) -> AsyncIterator[Archive]:
    """S3 when ``EDITOR_S3_ENDPOINT`` is set, else ``DATA_DIR/archive/``."""
    if cfg.s3_endpoint:
        from editor.archive.s3 import opened_s3_archive

        async with opened_s3_archive(cfg.s3_endpoint, cfg.s3_access_key, cfg.s3_secret_key,
                                     cfg.s3_bucket, cfg.s3_region) as archive:
            yield archive
        return
    yield LocalArchive(cfg.data_dir / "archive")
