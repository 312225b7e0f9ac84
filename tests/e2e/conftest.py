"""End-to-end fixtures: the separate services as processes on PostgreSQL, a private Tansu
broker and a moto S3 server, all stopped by PID at the test's end.

On CI (``CI=true``) a missing component fails the test (the fixtures' ``unavailable``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
from minio import Minio

from tests.e2e.support import Stack
from tests.support.kafka import TansuBroker, running_broker
from tests.support.s3 import (
    ACCESS_KEY,
    REGION,
    SECRET_KEY,
    MotoServer,
    fresh_bucket,
    running_moto,
    session_moto,
)

ARCHIVE_EVERY_OPS = 4
SNAPSHOT_EVERY_OPS = 3  # the reconciler's cadence; the engine's own is set out of the way
ARCHIVE_IDLE_S = 1.0
ENGINE_SNAPSHOT_EVERY_OPS = 100_000  # so every store snapshot past version 0 is a worker's


@pytest.fixture
def broker() -> Iterator[TansuBroker]:
    """A fresh memory-only Kafka-protocol broker of this test."""
    with running_broker() as started:
        yield started


@pytest.fixture
def shared_moto(request: pytest.FixtureRequest) -> MotoServer:
    """The session's moto server (the test uses a bucket of its own)."""
    return session_moto(request.session)


@pytest.fixture
def private_moto() -> Iterator[MotoServer]:
    """A moto server of this test's own, to stop and start again."""
    with running_moto() as server:
        yield server


def stack_env(database_url: str, broker: TansuBroker, moto: MotoServer, bucket: str
              ) -> dict[str, str]:
    """The ``EDITOR_*`` variables every service of a distributed stack shares."""
    return {
        "EDITOR_DATABASE_URL": database_url,
        "EDITOR_KAFKA_BOOTSTRAP": broker.bootstrap,
        "EDITOR_KAFKA_PARTITIONS": "2",
        "EDITOR_S3_ENDPOINT": moto.endpoint,
        "EDITOR_S3_ACCESS_KEY": ACCESS_KEY,
        "EDITOR_S3_SECRET_KEY": SECRET_KEY,
        "EDITOR_S3_BUCKET": bucket,
        "EDITOR_S3_REGION": REGION,
        "EDITOR_ARCHIVE_EVERY_OPS": str(ARCHIVE_EVERY_OPS),
        "EDITOR_ARCHIVE_IDLE_S": str(ARCHIVE_IDLE_S),
        "EDITOR_SNAPSHOT_EVERY_OPS": str(ENGINE_SNAPSHOT_EVERY_OPS),
    }


def new_stack(tmp_path: Path, database_url: str, broker: TansuBroker, moto: MotoServer,
              bucket: str | None = None,
              workers: tuple[str, ...] = ("reconciler", "archiver")) -> Stack:
    """auth, documents, collaboration and ``workers`` (not started)."""
    stack = Stack(tmp_path / "data", stack_env(database_url, broker, moto,
                                               bucket or fresh_bucket()))
    for name in ("auth", "documents", "collaboration", *workers):
        stack.add(name)
    if "reconciler" in workers:
        stack["reconciler"].env["EDITOR_SNAPSHOT_EVERY_OPS"] = str(SNAPSHOT_EVERY_OPS)
    return stack


@pytest.fixture
def stacks() -> Iterator[list[Stack]]:
    """Stacks a test starts; whatever still runs is stopped at its end."""
    started: list[Stack] = []
    yield started
    for stack in started:
        stack.stop_all()


def minio_client(moto: MotoServer) -> Minio:
    """A plain client of ``moto``, to look at the bucket behind the services' back."""
    return Minio(f"127.0.0.1:{moto.port}", access_key=ACCESS_KEY, secret_key=SECRET_KEY,
                 secure=False, region=REGION)


async def bucket_objects(moto: MotoServer, bucket: str) -> dict[str, dict[str, object]]:
    """Every snapshot object in ``bucket``, parsed; empty when there is no bucket."""
    client = minio_client(moto)

    def read() -> dict[str, dict[str, object]]:
        if not client.bucket_exists(bucket):
            return {}
        found: dict[str, dict[str, object]] = {}
        for item in client.list_objects(bucket, prefix="snapshots/", recursive=True):
            response = client.get_object(bucket, str(item.object_name))
            try:
                found[str(item.object_name)] = json.loads(response.read())
            finally:
                response.close()
                response.release_conn()
        return found

    return await trio.to_thread.run_sync(read)


def delete_bucket(moto: MotoServer, bucket: str) -> None:
    """Remove every object of ``bucket`` and the bucket itself."""
    client = minio_client(moto)
    for item in client.list_objects(bucket, recursive=True):
        client.remove_object(bucket, str(item.object_name))
    client.remove_bucket(bucket)

