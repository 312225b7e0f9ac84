"""Fixtures: an in-process server for fast tests, and a real `editor serve` process."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import trio

import editor.aio  # noqa: F401 (first, outside Trio: plain asyncio stays plain; see editor/aio.py)
from editor.config import Config, load
from editor.serve import Endpoints, serve
from tests.support.postgres import (  # noqa: F401 (fixtures)
    PostgresServer,
    postgres_server,
    postgres_url,
)
from tests.support.servers import LiveServer

os.environ.setdefault("EDITOR_LOG_LEVEL", "warning")


@dataclass
class InProcessServer:
    """An editor running in the test's own Trio loop."""

    cfg: Config
    endpoints: Endpoints
    http: httpx.AsyncClient

    @property
    def http_url(self) -> str:
        return self.endpoints.http_url

    @property
    def ws_url(self) -> str:
        return self.endpoints.ws_url


def test_config(data_dir: Path, **overrides: object) -> Config:
    """A config on loopback, free ports, a private data directory."""
    return load({}, host="127.0.0.1", http_port=0, ws_port=0, data_dir=data_dir,
                jwt_secret="test-secret-test-secret-test-secret", **overrides)


@pytest.fixture
def server_database() -> PostgresServer | None:
    """The store of in-process servers: None for SQLite in each data directory, or the
    PostgreSQL server to make their databases on. Suites that must pass on both stores
    override this with ``both_databases`` (tests/net, tests/auth)."""
    return None


def both_databases(request: pytest.FixtureRequest) -> PostgresServer | None:
    """``server_database`` for a suite that runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return None
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server


@pytest.fixture
async def make_server(
    tmp_path: Path, nursery: trio.Nursery, server_database: PostgresServer | None,
) -> AsyncIterator[Callable[..., Awaitable[InProcessServer]]]:
    """Start editors in this process with config overrides; each data directory gets its own
    database (SQLite inside it, or a fresh PostgreSQL database kept for restarts)."""
    clients: list[httpx.AsyncClient] = []
    databases: dict[Path, str] = {}

    async def database_for(data_dir: Path) -> str:
        if server_database is None:
            return ""
        if data_dir not in databases:
            databases[data_dir] = await trio.to_thread.run_sync(server_database.new_database)
        return databases[data_dir]

    async def start(data_dir: Path | None = None, **overrides: object) -> InProcessServer:
        data_dir = data_dir or tmp_path / f"data{len(clients)}"
        overrides.setdefault("database_url", await database_for(data_dir))
        cfg = test_config(data_dir, **overrides)
        endpoints = await nursery.start(serve, cfg)
        http = httpx.AsyncClient(base_url=endpoints.http_url, timeout=10)
        clients.append(http)
        return InProcessServer(cfg, endpoints, http)

    yield start
    for http in clients:
        await http.aclose()


@pytest.fixture
async def server(make_server: Callable[..., Awaitable[InProcessServer]]) -> InProcessServer:
    """A fresh editor in this process with its own database."""
    return await make_server()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """`editor serve` as a subprocess; ``restart()`` keeps the ports and the data directory."""
    live = LiveServer(tmp_path / "data")
    live.start()
    try:
        yield live
    finally:
        live.stop()
