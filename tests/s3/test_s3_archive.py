"""The S3 archive beyond the contract: its bucket, outages, and its configuration checks."""

from __future__ import annotations

import time
from contextlib import AbstractAsyncContextManager
from functools import partial

import pytest
import trio

from editor.archive import ArchiveUnavailable
from editor.archive.s3 import S3Archive, check_s3_endpoint, opened_s3_archive
from editor.config_values import ConfigError
from tests.s3.conftest import raw_client
from tests.support.s3 import ACCESS_KEY, REGION, SECRET_KEY, MotoServer, fresh_bucket

IO_DEADLINE_S = 10
# Two quick retries on a refused connection, then the error: well under this.
OUTAGE_BOUND_S = 3.0


def opened(server: MotoServer, bucket: str) -> AbstractAsyncContextManager[S3Archive]:
    """The archive in ``bucket`` on ``server``."""
    return opened_s3_archive(server.endpoint, ACCESS_KEY, SECRET_KEY, bucket, REGION)


async def test_the_bucket_is_created_at_open(shared_moto: MotoServer) -> None:
    bucket, raw = fresh_bucket(), raw_client(shared_moto)
    assert not await trio.to_thread.run_sync(raw.bucket_exists, bucket)
    with trio.fail_after(IO_DEADLINE_S):
        async with opened(shared_moto, bucket):
            assert await trio.to_thread.run_sync(raw.bucket_exists, bucket)
        async with opened(shared_moto, bucket) as archive:  # already there: kept
            assert await archive.list("") == []


async def test_a_bucket_deleted_behind_its_back_comes_back_with_the_next_put(
        shared_moto: MotoServer) -> None:
    bucket, raw = fresh_bucket(), raw_client(shared_moto)
    with trio.fail_after(IO_DEADLINE_S):
        async with opened(shared_moto, bucket) as archive:
            await trio.to_thread.run_sync(raw.remove_bucket, bucket)
            with pytest.raises(KeyError):
                await archive.get("snapshots/d/1.json")
            assert await archive.list("snapshots/") == []
            await archive.put("snapshots/d/1.json", b"{}")
            assert await archive.get("snapshots/d/1.json") == b"{}"
    assert await trio.to_thread.run_sync(raw.bucket_exists, bucket)


async def test_a_stopped_store_fails_every_operation_promptly(
        private_moto: MotoServer) -> None:
    async with opened(private_moto, fresh_bucket()) as archive:
        with trio.fail_after(IO_DEADLINE_S):
            await archive.put("snapshots/d/1.json", b"{}")
        private_moto.kill()
        for operation in (partial(archive.put, "snapshots/d/2.json", b"{}"),
                          partial(archive.get, "snapshots/d/1.json"),
                          partial(archive.list, "snapshots/")):
            started = time.monotonic()
            with trio.fail_after(IO_DEADLINE_S), pytest.raises(ArchiveUnavailable):
                await operation()
            assert time.monotonic() - started < OUTAGE_BOUND_S


async def test_a_store_down_at_open_is_used_once_it_is_back(
        private_moto: MotoServer) -> None:
    private_moto.kill()
    with trio.fail_after(IO_DEADLINE_S):
        async with opened(private_moto, fresh_bucket()) as archive:
            with pytest.raises(ArchiveUnavailable):
                await archive.put("backups/20260101T000000Z.dump", b"dump")
            await trio.to_thread.run_sync(private_moto.start)  # same port, empty
            await archive.put("backups/20260101T000000Z.dump", b"dump")
            assert await archive.list("backups/") == ["backups/20260101T000000Z.dump"]


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9000", "https://minio.example.com:443", "http://minio:9000/",
    "https://s3.amazonaws.com", "http://[::1]:9000"])
def test_an_endpoint_is_accepted(url: str) -> None:
    check_s3_endpoint(url)


@pytest.mark.parametrize("url", [
    "", "minio:9000", "ftp://minio:9000", "http://", "http://minio:0", "http://minio:99999",
    "http://minio:9000/bucket", "http://user:pw@minio:9000", "http://minio:9000?x=1",
    "http://minio:port"])
def test_a_bad_endpoint_names_the_variable(url: str) -> None:
    with pytest.raises(ConfigError, match="EDITOR_S3_ENDPOINT"):
        check_s3_endpoint(url)


async def test_a_bad_bucket_name_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="EDITOR_S3_BUCKET"):
        async with opened_s3_archive("http://127.0.0.1:1", "k", "s", "No_Such", REGION):
            pytest.fail("opened an archive with an invalid bucket name")
