"""Replicas behind one load balancer: two servers share a database and a Redis.

The store here is one SQLite file with op-log polling slowed to once a minute, so whatever
reaches the other replica in time came over the bus; with Redis killed, polling (fast again)
is the path, and the bus comes back by itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import trio
from prometheus_client import REGISTRY

from tests.conftest import InProcessServer
from tests.support.api import create_document, sign_up
from tests.support.raw import RawClient, connect
from tests.support.redis import RedisServer, redis_server  # noqa: F401 (fixture)

MakeServer = Callable[..., Awaitable[InProcessServer]]


async def _replicas(make_server: MakeServer, tmp_path: Path, redis_url: str,
                    poll_s: float) -> tuple[InProcessServer, InProcessServer]:
    database_url = f"sqlite:///{tmp_path / 'shared.db'}"
    return (await make_server(database_url=database_url, redis_url=redis_url,
                              log_poll_interval_s=poll_s),
            await make_server(database_url=database_url, redis_url=redis_url,
                              log_poll_interval_s=poll_s))


async def _op(client: RawClient, seq: int, version: int, text: str) -> dict[str, Any]:
    await client.send({"type": "op", "seq": seq, "version": version,
                       "delta": [{"insert": text}]})
    return await client.recv_type("ack")


async def test_ops_cursors_presence_and_leaves_cross_replicas(
        make_server: MakeServer, tmp_path: Path, redis_server: RedisServer) -> None:  # noqa: F811
    with trio.fail_after(30):
        left, right = await _replicas(make_server, tmp_path, redis_server.url, poll_s=60.0)
        owner = await sign_up(left.http, "owner")
        doc_id = (await create_document(left.http, owner))["id"]
        async with connect(left.ws_url, doc_id) as a, connect(right.ws_url, doc_id) as b:
            await a.hello(owner.access_token, "a")
            await b.hello(owner.access_token, "b")
            await trio.sleep(0.3)  # both replicas have subscribed to the document
            await _op(a, 1, 0, "x")
            with trio.fail_after(1):
                frame = await b.recv_type("op")
            assert (frame["version"], frame["delta"]) == (0, [{"insert": "x"}])

            await b.send({"type": "cursor", "version": 1, "index": 1, "length": 0})
            with trio.fail_after(1):
                cursor = await a.recv_type("cursor")
            assert (cursor["client_id"], cursor["index"], cursor["version"]) == ("b", 1, 1)

            async with connect(left.ws_url, doc_id) as c:
                welcome = await c.hello(owner.access_token, "c")
                assert {p["client_id"] for p in welcome["peers"]} >= {"b"}
            listed = await left.http.get(f"/v1/documents/{doc_id}/presence",
                                         headers=owner.headers)
            assert {e["client_id"] for e in listed.json()} >= {"a", "b"}

        async with connect(left.ws_url, doc_id) as a2, connect(right.ws_url, doc_id) as b2:
            await a2.hello(owner.access_token, "a2", version=1)
            await b2.hello(owner.access_token, "b2", version=1)
            await trio.sleep(0.3)
            await b2.send({"type": "cursor", "version": 1, "index": 0, "length": 1})
            await a2.recv_type("cursor")
        # b2 left on the other replica: its leave crossed too (a2 is gone as well, so ask REST)
        with trio.fail_after(5):
            while True:
                listed = await left.http.get(f"/v1/documents/{doc_id}/presence",
                                             headers=owner.headers)
                if not {e["client_id"] for e in listed.json()} & {"b2"}:
                    break
                await trio.sleep(0.05)


@pytest.mark.slow
async def test_with_redis_killed_edits_reach_the_other_replica_and_the_bus_comes_back(
        make_server: MakeServer, tmp_path: Path, redis_server: RedisServer) -> None:  # noqa: F811
    with trio.fail_after(60):
        left, right = await _replicas(make_server, tmp_path, redis_server.url, poll_s=0.25)
        owner = await sign_up(left.http, "owner")
        doc_id = (await create_document(left.http, owner))["id"]
        async with connect(left.ws_url, doc_id) as a, connect(right.ws_url, doc_id) as b:
            await a.hello(owner.access_token, "a")
            await b.hello(owner.access_token, "b")
            await trio.sleep(0.3)
            await _op(a, 1, 0, "1")
            await b.recv_type("op")

            await trio.to_thread.run_sync(redis_server.kill)
            for seq in range(2, 6):  # acked while Redis is down, and seen by b within 1 s
                ack = await _op(a, seq, seq - 1, str(seq))
                with trio.fail_after(1):
                    frame = await b.recv_type("op")
                assert frame["version"] == ack["version"]

            await trio.to_thread.run_sync(redis_server.start)
            with trio.fail_after(15):  # the adapter reconnects with backoff (at most 5 s)
                while True:
                    if REGISTRY.get_sample_value("editor_redis_up") == 1.0:
                        break
                    await trio.sleep(0.1)
            ack = await _op(b, 1, 5, "!")
            frame = await a.recv_type("op")
            assert frame["version"] == ack["version"] == 5
        state = await left.http.get(f"/v1/documents/{doc_id}", headers=owner.headers)
        assert state.json()["content"] == [{"insert": "!54321\n"}]
