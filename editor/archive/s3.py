"""The distributed archive: objects in an S3 bucket (MinIO, AWS S3) through ``minio``.

minio is a blocking client: every call runs in a worker thread. A put is one PUT request,
which S3 applies atomically. The bucket is created at open when missing, and again by a
put that finds it gone (an object store that came back empty); an absent bucket holds no
objects for ``get`` and ``list``. Connection and server failures come out as
``ArchiveUnavailable`` after a short bounded retry, so the archiver's own backoff decides
(the archiver counts ``editor_archive_writes_total`` and ``editor_archive_failures_total``).
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar
from urllib.parse import urlsplit

import trio
import urllib3
from minio import Minio
from minio.error import MinioException, S3Error
from minio.helpers import check_bucket_name

from editor import logs
from editor.archive.base import ArchiveUnavailable
from editor.archive.layout import validate_key, validate_prefix
from editor.config_values import ConfigError

T = TypeVar("T")
log = logs.get(__name__)

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 30.0
RETRIES = 2  # urllib3's own, for connection errors and 5xx; minio's default waits ~6 s
_BUCKET_GONE = ("NoSuchBucket",)
_KEY_MISSING = ("NoSuchKey", "NoSuchBucket")
# Besides minio's own, what urllib3 raises when the server is down or breaks a response.
_FAILURES = (MinioException, urllib3.exceptions.HTTPError, OSError)


def check_s3_endpoint(url: str) -> None:
    """``ConfigError`` naming ``EDITOR_S3_ENDPOINT`` unless ``url`` is ``http(s)://HOST[:PORT]``."""
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or 1 <= parts.port <= 65535
    except ValueError:
        port_ok = False
        parts = urlsplit("")
    if (parts.scheme not in ("http", "https") or not parts.hostname or not port_ok
            or parts.username is not None or parts.path not in ("", "/")
            or parts.query or parts.fragment):
        raise ConfigError(f"EDITOR_S3_ENDPOINT={url!r}: expected http(s)://HOST:PORT"
                          " (no path, credentials or query)")


class S3Archive:
    """An ``Archive`` in one S3 bucket."""

    def __init__(self, client: Minio, bucket: str) -> None:
        self._client = client
        self.bucket = bucket

    async def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key``, replacing it atomically: readers see all or nothing."""
        validate_key(key)
        payload = bytes(data)

        def write() -> None:
            try:
                self._put_object(key, payload)
            except S3Error as exc:
                if exc.code not in _BUCKET_GONE:
                    raise
                log.warning("archive bucket missing: creating it", extra={"bucket": self.bucket})
                self._ensure_bucket()
                self._put_object(key, payload)

        await self._run("put", key, write)

    async def get(self, key: str) -> bytes:
        """The object under ``key``; ``KeyError`` when there is none."""
        validate_key(key)

        def read() -> bytes | None:
            try:
                response = self._client.get_object(self.bucket, key)
            except S3Error as exc:
                if exc.code in _KEY_MISSING:
                    return None
                raise
            try:
                return bytes(response.read())
            finally:
                response.close()
                response.release_conn()

        data = await self._run("get", key, read)
        if data is None:
            raise KeyError(key)
        return data

    async def list(self, prefix: str) -> list[str]:
        """Every key that starts with ``prefix``, sorted."""
        validate_prefix(prefix)

        def names() -> list[str]:
            try:
                # The iterator follows S3's continuation tokens through every page.
                return sorted(str(found.object_name) for found in self._client.list_objects(
                    self.bucket, prefix=prefix, recursive=True))
            except S3Error as exc:
                if exc.code in _BUCKET_GONE:
                    return []
                raise

        return await self._run("list", prefix, names)

    async def ensure_bucket(self) -> None:
        """Create the bucket when it does not exist."""
        await self._run("create bucket", self.bucket, self._ensure_bucket)

    def _put_object(self, key: str, payload: bytes) -> None:
        self._client.put_object(self.bucket, key, io.BytesIO(payload), len(payload),
                                content_type="application/octet-stream")

    def _ensure_bucket(self) -> None:
        if self._client.bucket_exists(self.bucket):
            return
        try:
            self._client.make_bucket(self.bucket)
        except S3Error as exc:
            # Another process created it between the check and the request.
            if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        log.info("archive bucket created", extra={"bucket": self.bucket})

    async def _run(self, operation: str, target: str, fn: Callable[[], T]) -> T:
        """``fn`` in a worker thread; S3 and connection failures as ``ArchiveUnavailable``."""
        try:
            # Abandoned on cancel: a blocked request must not hold up a shutdown.
            return await trio.to_thread.run_sync(fn, abandon_on_cancel=True)
        except _FAILURES as exc:
            log.warning("archive operation failed", extra={
                "operation": operation, "target": target,
                "error": f"{type(exc).__name__}: {exc}"})
            raise ArchiveUnavailable(f"s3 {operation} {target!r}: {exc}") from exc


@asynccontextmanager
async def opened_s3_archive(endpoint: str, access_key: str, secret_key: str, bucket: str,
                            region: str) -> AsyncIterator[S3Archive]:
    """The archive in ``bucket`` at ``endpoint`` (``http(s)://HOST:PORT``), the bucket
    created when missing; an unreachable store is logged, not fatal (puts retry later)."""
    check_s3_endpoint(endpoint)
    try:
        check_bucket_name(bucket, strict=True)
    except ValueError as exc:
        raise ConfigError(f"EDITOR_S3_BUCKET={bucket!r}: {exc}") from None
    parts = urlsplit(endpoint)
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT_S, read=READ_TIMEOUT_S), maxsize=10,
        retries=urllib3.Retry(total=RETRIES, backoff_factor=0.1,
                              status_forcelist=[500, 502, 503, 504]))
    client = Minio(parts.netloc, access_key=access_key or None, secret_key=secret_key or None,
                   secure=parts.scheme == "https", region=region, http_client=http)
    archive = S3Archive(client, bucket)
    try:
        try:
            await archive.ensure_bucket()
        except ArchiveUnavailable as exc:
            log.warning("archive unreachable at start", extra={"error": str(exc)})
        yield archive
    finally:
        http.clear()


__all__ = ["S3Archive", "check_s3_endpoint", "opened_s3_archive"]
