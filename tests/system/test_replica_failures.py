"""Two `editor serve` processes behind a load balancer, sharing a database and a Redis, with
SDK clients on both; then Redis, a Redis Cluster master or a whole replica dies mid-edit.

Every client inserts tokens only at its own end of the text, so a token is never split and
"every acked op present exactly once" reads as "every token appears exactly once".
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import trio

from editor.bus.redis.bus import channel_name
from editor.client import ClientOptions, Document, open_document
from tests.redis.test_cluster import master_port_of
from tests.support.api import Account, create_document, sign_up
from tests.support.postgres import PostgresServer
from tests.support.proxy import FailoverProxy
from tests.support.redis import (  # noqa: F401 (fixtures)
    RedisClusterServers,
    RedisServer,
    redis_cluster,
    redis_server,
)
from tests.support.servers import LiveServer, free_port

FAST_RECONNECT = ClientOptions(backoff_initial_s=0.05, backoff_max_s=0.5, backoff_jitter=0.1)


@dataclass
class Replicas:
    """Two live replicas, the account and the document the test edits."""

    left: LiveServer
    right: LiveServer
    owner: Account
    doc_id: str

    def metrics_url(self, server: LiveServer) -> str:
        return f"http://127.0.0.1:{server.env['EDITOR_METRICS_PORT']}/metrics"


@asynccontextmanager
async def replicas(tmp_path: Path, database_url: str, redis_url: str, **env: str
                   ) -> AsyncIterator[Replicas]:
    """Start two `editor serve` processes on one database and one Redis."""
    shared = {"EDITOR_DATABASE_URL": database_url, "EDITOR_REDIS_URL": redis_url,
              "EDITOR_JWT_SECRET": "replica-test-secret-replica-test-secret", **env}
    servers = [LiveServer(tmp_path / name, env={**shared, "EDITOR_METRICS_PORT":
                                                str(free_port())})
               for name in ("left", "right")]
    try:
        for server in servers:
            await trio.to_thread.run_sync(server.start)
        async with httpx.AsyncClient(base_url=servers[0].http_url, timeout=10) as http:
            owner = await sign_up(http, "owner")
            doc_id = (await create_document(http, owner))["id"]
        yield Replicas(servers[0], servers[1], owner, doc_id)
    finally:
        for server in servers:
            if server.process is not None and server.process.poll() is None:
                await trio.to_thread.run_sync(server.stop)


@asynccontextmanager
async def sdk(server_http: str, ws_url: str, doc_id: str, token: str, client_id: str
              ) -> AsyncIterator[Document]:
    async with open_document(server_http, doc_id, token, client_id=client_id, ws_url=ws_url,
                             options=FAST_RECONNECT) as doc:
        yield doc


async def type_tokens(doc: Document, prefix: str, count: int, *, at_start: bool,
                      after: Callable[[int], None] | None = None) -> list[str]:
    """Insert ``count`` tokens at one end of the text, one every few ms; ``after(n)`` runs
    after the n-th (the test's fault injection)."""
    tokens = []
    for n in range(count):
        token = f"<{prefix}{n}>"
        await doc.insert(0 if at_start else len(doc.text) - 1, token)
        tokens.append(token)
        if after is not None:
            after(n)
        await trio.sleep(0.01)
    return tokens


async def settled_text(live: Replicas, docs: list[Document]) -> str:
    """Wait until every client acked everything and saw the same head; the stored text."""
    for doc in docs:
        await doc.wait_synchronized()
    async with httpx.AsyncClient(base_url=live.right.http_url, timeout=10) as http:
        while True:
            state = (await http.get(f"/v1/documents/{live.doc_id}",
                                    headers=live.owner.headers)).json()
            if all(doc.version == state["version"] for doc in docs):
                break
            await trio.sleep(0.02)
    text = "".join(op["insert"] for op in state["content"])
    assert all(doc.text == text for doc in docs), [doc.text for doc in docs]
    return text


def assert_once_each(text: str, tokens: list[str]) -> None:
    counts = {token: text.count(token) for token in tokens}
    assert all(count == 1 for count in counts.values()), {
        t: c for t, c in counts.items() if c != 1}


@pytest.mark.slow
async def test_replicas_converge_through_a_redis_kill_9_and_the_fast_path_returns(
        tmp_path: Path, postgres_server: PostgresServer,
        redis_server: RedisServer) -> None:  # noqa: F811
    database_url = await trio.to_thread.run_sync(postgres_server.new_database)
    with trio.fail_after(90):
        async with replicas(tmp_path, database_url, redis_server.url) as live:
            token = live.owner.access_token
            async with sdk(live.left.http_url, live.left.ws_url, live.doc_id, token, "a") as a, \
                    sdk(live.left.http_url, live.right.ws_url, live.doc_id, token, "b") as b:
                killed = trio.Event()

                def redis_events(n: int) -> None:
                    if n == 10:
                        redis_server.kill()
                        killed.set()
                    if n == 25:
                        redis_server.start()

                async with trio.open_nursery() as nursery:
                    tokens: dict[str, list[str]] = {}

                    async def typing(doc: Document, name: str, at_start: bool) -> None:
                        tokens[name] = await type_tokens(
                            doc, name, 40, at_start=at_start,
                            after=redis_events if name == "a" else None)

                    nursery.start_soon(typing, a, "a", True)
                    nursery.start_soon(typing, b, "b", False)
                text = await settled_text(live, [a, b])
            assert killed.is_set()
            assert_once_each(text, tokens["a"] + tokens["b"])
            async with httpx.AsyncClient(timeout=5) as http:
                with trio.fail_after(15):  # the adapter's reconnect backoff is at most 5 s
                    while True:
                        metrics = await http.get(live.metrics_url(live.left))
                        if "editor_redis_up 1.0" in metrics.text:
                            break
                        await trio.sleep(0.1)


@pytest.mark.slow
async def test_clients_of_a_killed_replica_resume_on_the_other_and_nothing_doubles(
        tmp_path: Path, postgres_server: PostgresServer,
        redis_server: RedisServer) -> None:  # noqa: F811
    database_url = await trio.to_thread.run_sync(postgres_server.new_database)
    with trio.fail_after(90):
        async with replicas(tmp_path, database_url, redis_server.url) as live, \
                trio.open_nursery() as proxies:
            balancer = FailoverProxy([live.left.ws_port, live.right.ws_port])
            await proxies.start(balancer.serve)
            token = live.owner.access_token
            async with sdk(live.right.http_url, balancer.ws_url, live.doc_id, token, "a") as a, \
                    sdk(live.right.http_url, live.right.ws_url, live.doc_id, token, "b") as b:
                tokens: dict[str, list[str]] = {}

                def crash(n: int) -> None:
                    if n == 15:
                        live.left.kill()  # a's replica, mid-edit; the balancer moves a

                async def typing(doc: Document, name: str, at_start: bool) -> None:
                    tokens[name] = await type_tokens(doc, name, 40, at_start=at_start,
                                                     after=crash if name == "a" else None)

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(typing, a, "a", True)
                    nursery.start_soon(typing, b, "b", False)
                text = await settled_text(live, [a, b])
            proxies.cancel_scope.cancel()
        assert_once_each(text, tokens["a"] + tokens["b"])


# redis-py 8.2's topology refresh drops connections without closing them (see tests/redis).
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_fan_out_recovers_within_5_s_of_a_cluster_master_killed(
        tmp_path: Path, redis_cluster: RedisClusterServers) -> None:  # noqa: F811
    # One SQLite file and op-log polling once a minute: only the bus carries ops in time.
    database_url = f"sqlite:///{tmp_path / 'shared.db'}"
    with trio.fail_after(90):
        async with replicas(tmp_path, database_url, redis_cluster.url,
                            EDITOR_LOG_POLL_INTERVAL_S="60") as live:
            port = master_port_of(redis_cluster, channel_name(live.doc_id))
            victim = next(s for s in redis_cluster.servers if s.port == port)
            token = live.owner.access_token
            try:
                async with sdk(live.left.http_url, live.left.ws_url, live.doc_id, token,
                               "a") as a, \
                        sdk(live.left.http_url, live.right.ws_url, live.doc_id, token,
                            "b") as b:
                    await a.insert(0, "<before>")
                    with trio.fail_after(2):
                        while "<before>" not in b.text:  # noqa: ASYNC110
                            await trio.sleep(0.01)
                    await trio.to_thread.run_sync(victim.kill)
                    killed_at = trio.current_time()
                    for n in itertools.count():  # keep editing until an edit crosses again
                        await a.insert(0, f"<after{n}>")
                        with trio.move_on_after(0.25):
                            while f"<after{n}>" not in b.text:  # noqa: ASYNC110
                                await trio.sleep(0.01)
                        if f"<after{n}>" in b.text:
                            break
                    assert trio.current_time() - killed_at <= 5.0
            finally:
                await trio.to_thread.run_sync(victim.start)
                await trio.to_thread.run_sync(redis_cluster.wait_ready)
