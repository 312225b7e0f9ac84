"""`editor serve` as a real process: durability across kill -9, draining, two engines on one
data directory (the commit-conflict path)."""

from __future__ import annotations

import json
import random
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from editor.client import ClientOptions, open_document
from tests.support.api import create_document, share, sign_up
from tests.support.raw import connect
from tests.support.servers import LiveServer
from tests.system.test_convergence import random_edit


async def test_acked_ops_survive_kill_9(live_server: LiveServer) -> None:
    await acked_ops_survive_kill_9(live_server)


async def acked_ops_survive_kill_9(live_server: LiveServer) -> None:
    """40 acked ops, kill -9, start again: all 40 are there and the client carries on."""
    async with httpx.AsyncClient(base_url=live_server.http_url, timeout=10) as http:
        owner = await sign_up(http, "owner")
        doc_id = (await create_document(http, owner))["id"]
        with trio.fail_after(30):
            async with connect(live_server.ws_url, doc_id) as client:
                await client.hello(owner.access_token, "k")
                for seq in range(1, 41):
                    await client.send({"type": "op", "seq": seq, "version": seq - 1,
                                       "delta": [{"insert": f"{seq},"}]})
                    assert (await client.recv_type("ack"))["version"] == seq - 1
                live_server.kill()
    live_server.start()
    async with httpx.AsyncClient(base_url=live_server.http_url, timeout=10) as http:
        state = (await http.get(f"/v1/documents/{doc_id}", headers=owner.headers)).json()
        assert state["version"] == 40
        assert state["content"] == [{"insert": "".join(f"{n}," for n in range(40, 0, -1))
                                     + "\n"}]
        with trio.fail_after(10):
            async with connect(live_server.ws_url, doc_id) as client:
                welcome = await client.hello(owner.access_token, "k", version=40)
                assert welcome["head"] == 40
                await client.send({"type": "op", "seq": 41, "version": 40,
                                   "delta": [{"insert": "after"}]})
                assert await client.recv_type("ack") == {"type": "ack", "seq": 41,
                                                         "version": 40}


async def test_sigterm_drains_with_1001_and_exits_0(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.http_url, timeout=10) as http:
        owner = await sign_up(http, "owner")
        doc_id = (await create_document(http, owner))["id"]
    with trio.fail_after(30):
        async with connect(live_server.ws_url, doc_id) as client:
            await client.hello(owner.access_token)
            assert live_server.process is not None
            live_server.process.send_signal(signal.SIGTERM)
            code, _ = await client.closed()
    assert code == 1001
    assert live_server.process.wait(timeout=20) == 0


@pytest.mark.parametrize("second", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
async def test_a_second_signal_during_the_drain_exits_at_once(
        tmp_path: Path, second: signal.Signals) -> None:
    """A connection that never says hello holds the drain (until its hello timeout); a second
    signal meanwhile ends the process at once, with a warning naming it."""
    server = LiveServer(tmp_path / "data", env={"EDITOR_HELLO_TIMEOUT_S": "120",
                                                "EDITOR_DRAIN_TIMEOUT_S": "120"})
    server.start()
    assert server.process is not None and server.log_path is not None
    try:
        async with httpx.AsyncClient(base_url=server.http_url, timeout=10) as http:
            owner = await sign_up(http, "owner")
            doc_id = (await create_document(http, owner))["id"]
        with trio.fail_after(30):
            async with connect(server.ws_url, doc_id) as client, \
                    connect(server.ws_url, doc_id):  # silent: holds the drain
                await client.hello(owner.access_token)
                server.process.send_signal(signal.SIGTERM)
                assert (await client.closed())[0] == 1001  # the drain is under way
                server.process.send_signal(second)
                sent = time.monotonic()
                code = server.process.wait(timeout=10)
                waited_s = time.monotonic() - sent
    finally:
        server.stop()
    assert code == 128 + second and waited_s < 5
    events = [json.loads(line) for line in server.log_path.read_text().splitlines()
              if line.startswith("{")]
    warning = events[-1]
    assert warning["level"] == "warning" and warning["signal"] == second.name
    assert warning["event"] == ("second signal during drain: exiting at once without"
                                " finishing the drain")
    assert "stopped" not in [event["event"] for event in events]


async def test_two_engines_on_one_data_directory_converge(tmp_path: Path) -> None:
    data_dir = tmp_path / "shared"
    first = LiveServer(data_dir)
    first.start()
    second = LiveServer(data_dir)
    second.start()
    try:
        async with httpx.AsyncClient(base_url=first.http_url, timeout=10) as http:
            owner = await sign_up(http, "owner")
            other = await sign_up(http, "other")
            doc_id = (await create_document(http, owner, content="shared\n"))["id"]
            await share(http, owner, doc_id, other, "editor")
            finals: dict[int, list[dict[str, Any]]] = {}
            done: list[int] = []
            all_done = trio.Event()
            final_head = [0]
            head_known = trio.Event()

            async def client(index: int, server: LiveServer, token: str) -> None:
                rng = random.Random(index)
                async with open_document(server.http_url, doc_id, token,
                                         client_id=f"p{index}",
                                         options=ClientOptions()) as doc:
                    for _ in range(25):
                        await doc.submit(random_edit(rng, doc.content))
                        await trio.sleep(rng.random() * 0.02)
                    await doc.wait_synchronized()
                    done.append(index)
                    if len(done) == 4:
                        all_done.set()
                    await head_known.wait()
                    while doc.version < final_head[0]:  # noqa: ASYNC110 - the SDK has no version wait
                        await trio.sleep(0.02)
                    finals[index] = doc.content

            with trio.fail_after(60):
                async with trio.open_nursery() as nursery:
                    for index in range(4):
                        server = first if index % 2 else second
                        token = (owner if index < 2 else other).access_token
                        nursery.start_soon(client, index, server, token)
                    await all_done.wait()
                    final_head[0] = (await http.get(f"/v1/documents/{doc_id}",
                                                    headers=owner.headers)).json()["version"]
                    head_known.set()
            state = (await http.get(f"/v1/documents/{doc_id}", headers=owner.headers)).json()
        assert state["version"] == final_head[0] > 0
        assert all(content == state["content"] for content in finals.values())
    finally:
        first.stop()
        second.stop()
