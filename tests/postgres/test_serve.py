"""`editor serve` on PostgreSQL: real edits over WebSocket are acked, survive a restart, and
two servers sharing one database converge."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from editor.serve import Endpoints, serve
from tests.conftest import test_config as config_for
from tests.support.api import Account, create_document, sign_up
from tests.support.postgres import PostgresServer
from tests.support.raw import RawClient, connect
from tests.support.servers import LiveServer
from tests.system.test_process import acked_ops_survive_kill_9


@dataclass
class RunningServer:
    """An in-process `editor serve` that the test can stop."""

    endpoints: Endpoints
    http: httpx.AsyncClient
    stop: trio.Event


StartServer = Callable[..., Awaitable[RunningServer]]


@pytest.fixture
async def start_server(tmp_path: Path, nursery: trio.Nursery
                       ) -> AsyncIterator[StartServer]:
    """Start editors on a database URL; each has its own data directory (same JWT secret)."""
    started: list[RunningServer] = []

    async def start(database_url: str, **overrides: object) -> RunningServer:
        cfg = config_for(tmp_path / f"data{len(started)}", database_url=database_url,
                         **overrides)
        stop = trio.Event()
        endpoints = await nursery.start(partial(serve, cfg, stop=stop))
        server = RunningServer(endpoints, httpx.AsyncClient(base_url=endpoints.http_url,
                                                            timeout=10), stop)
        started.append(server)
        return server

    yield start
    for server in started:
        await server.http.aclose()
        server.stop.set()


async def _document(http: httpx.AsyncClient, owner: Account, doc_id: str) -> dict[str, Any]:
    response = await http.get(f"/v1/documents/{doc_id}", headers=owner.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _type(client: RawClient, text: str, start_seq: int, version: int) -> int:
    """Send one op per character at the document's start; the version after the last ack."""
    for offset, char in enumerate(text):
        await client.send({"type": "op", "seq": start_seq + offset, "version": version,
                           "delta": [{"insert": char}]})
        ack = await client.recv_type("ack")
        assert ack == {"type": "ack", "seq": start_seq + offset, "version": version}
        version += 1
    return version


async def test_edits_are_acked_and_survive_a_restart(postgres_url: str,
                                                     start_server: StartServer) -> None:
    with trio.fail_after(30):
        first = await start_server(postgres_url)
        owner = await sign_up(first.http, "owner")
        doc_id = (await create_document(first.http, owner))["id"]
        async with connect(first.endpoints.ws_url, doc_id) as client:
            await client.hello(owner.access_token, "c1")
            assert await _type(client, "olleh", 1, 0) == 5
        first.stop.set()

        second = await start_server(postgres_url)
        state = await _document(second.http, owner, doc_id)
        assert state["version"] == 5
        assert state["content"] == [{"insert": "hello\n"}]
        async with connect(second.endpoints.ws_url, doc_id) as client:
            welcome = await client.hello(owner.access_token, "c1", version=5)
            assert welcome["head"] == 5
            # The same client's seq 5 was committed before the restart: answered, not redone.
            await client.send({"type": "op", "seq": 5, "version": 4,
                               "delta": [{"insert": "o"}]})
            assert await client.recv_type("ack") == {"type": "ack", "seq": 5, "version": 4}
            assert await _type(client, "!", 6, 5) == 6
        state = await _document(second.http, owner, doc_id)
        assert state["content"] == [{"insert": "!hello\n"}]


async def test_two_servers_on_one_database_converge(postgres_url: str,
                                                    start_server: StartServer) -> None:
    with trio.fail_after(30):
        left = await start_server(postgres_url)
        right = await start_server(postgres_url)
        owner = await sign_up(left.http, "owner")
        doc_id = (await create_document(left.http, owner, content="|"))["id"]
        async with connect(left.endpoints.ws_url, doc_id) as a, \
                connect(right.endpoints.ws_url, doc_id) as b:
            await a.hello(owner.access_token, "a")
            await b.hello(owner.access_token, "b")
            acked: dict[str, list[int]] = {"a": [], "b": []}

            async def edit(client: RawClient, name: str, text: str) -> None:
                # One op in flight at a time, based on the newest version this client has
                # seen; frames come in version order, so each ack or op is one version more.
                version = 0
                for seq, char in enumerate(text, start=1):
                    await client.send({"type": "op", "seq": seq, "version": version,
                                       "delta": [{"insert": char}]})
                    while True:
                        frame = await client.recv_type("ack", "op", "error")
                        assert frame["type"] != "error", frame
                        version += 1
                        if frame["type"] == "ack":
                            acked[name].append(frame["version"])
                            break

            async with trio.open_nursery() as nursery:
                nursery.start_soon(edit, a, "a", "abcd")
                nursery.start_soon(edit, b, "b", "wxyz")
        assert sorted(acked["a"] + acked["b"]) == list(range(8))  # no version twice, no gap
        expected_head = 8
        contents = []
        for server in (left, right):
            while True:  # a server learns the other's last ops by polling the op log
                state = await _document(server.http, owner, doc_id)
                if state["version"] >= expected_head:
                    break
                await trio.sleep(0.05)
            contents.append(state["content"])
        assert contents[0] == contents[1]
        assert sorted(contents[0][0]["insert"]) == sorted("abcdwxyz|\n")


async def test_a_commit_reaches_the_other_server_by_notice_without_polling(
        postgres_url: str, start_server: StartServer) -> None:
    with trio.fail_after(30):
        # Polling once a minute: only LISTEN/NOTIFY can bring the op across in time.
        left = await start_server(postgres_url, log_poll_interval_s=60.0)
        right = await start_server(postgres_url, log_poll_interval_s=60.0)
        owner = await sign_up(left.http, "owner")
        doc_id = (await create_document(left.http, owner))["id"]
        async with connect(left.endpoints.ws_url, doc_id) as a, \
                connect(right.endpoints.ws_url, doc_id) as b:
            await a.hello(owner.access_token, "a")
            await b.hello(owner.access_token, "b")
            await trio.sleep(0.2)  # both servers' notice connections are listening
            await a.send({"type": "op", "seq": 1, "version": 0, "delta": [{"insert": "x"}]})
            await a.recv_type("ack")
            with trio.fail_after(1):
                frame = await b.recv_type("op")
            assert frame["version"] == 0 and frame["delta"] == [{"insert": "x"}]


async def test_readyz_follows_the_database(postgres_server: PostgresServer, postgres_url: str,
                                           start_server: StartServer) -> None:
    database = postgres_url.rsplit("/", 1)[1]

    async def psql(sql: str) -> None:
        await trio.to_thread.run_sync(postgres_server.psql, sql)

    async def until_ready_is(status: int) -> None:
        while True:
            if (await server.http.get("/readyz")).status_code == status:
                return
            await trio.sleep(0.05)

    with trio.fail_after(30):
        server = await start_server(postgres_url)
        await until_ready_is(200)
        await psql(f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
        await psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                   f" WHERE datname = '{database}'")
        await until_ready_is(503)
        await psql(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
        await until_ready_is(200)  # the pool reconnects by itself


async def test_acked_ops_survive_kill_9_on_postgresql(tmp_path: Path, postgres_url: str
                                                     ) -> None:
    live = LiveServer(tmp_path / "data", env={"EDITOR_DATABASE_URL": postgres_url})
    await trio.to_thread.run_sync(live.start)
    try:
        await acked_ops_survive_kill_9(live)
    finally:
        await trio.to_thread.run_sync(live.stop)
