"""Fixtures of the S3 archive's own tests: the session's moto server, or a private one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from minio import Minio

from tests.support.s3 import ACCESS_KEY, REGION, SECRET_KEY, MotoServer, running_moto, session_moto


def raw_client(server: MotoServer) -> Minio:
    """A plain minio client of ``server``, to look behind the archive's back."""
    return Minio(f"127.0.0.1:{server.port}", access_key=ACCESS_KEY, secret_key=SECRET_KEY,
                 secure=False, region=REGION)


@pytest.fixture
def shared_moto(request: pytest.FixtureRequest) -> MotoServer:
    """The session's server: use a fresh bucket."""
    return session_moto(request.session)


@pytest.fixture
def private_moto() -> Iterator[MotoServer]:
    """A server of this test's own, to stop or kill."""
    with running_moto() as server:
        yield server
