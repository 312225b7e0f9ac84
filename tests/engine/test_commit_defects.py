"""Regressions of two commit defects, through real sockets against an in-process server.

1. A REST restore committed in the same batch as another session's op answered 500 (the
   fake session it used received a JSON array).
2. An op whose ``seq`` skipped (1 then 3) was committed; PROTOCOL §2–§3 say ``bad_version``.
"""

from __future__ import annotations

import random

import trio

from editor import ot
from editor.client import open_document
from tests.conftest import InProcessServer
from tests.support.api import create_document, share, sign_up
from tests.support.raw import connect

SEED = 1207


async def test_restores_while_three_clients_stream(server: InProcessServer) -> None:
    owner = await sign_up(server.http, "owner")
    doc_id = (await create_document(server.http, owner, content="start"))["id"]
    writers = [await sign_up(server.http, f"writer{i}") for i in range(3)]
    for writer in writers:
        await share(server.http, owner, doc_id, writer, "editor")
    rng = random.Random(SEED)
    statuses: list[int] = []
    with trio.fail_after(60):
        async with open_document(server.http_url, doc_id, writers[0].access_token) as a, \
                open_document(server.http_url, doc_id, writers[1].access_token) as b, \
                open_document(server.http_url, doc_id, writers[2].access_token) as c:
            streaming = True

            async def stream(doc: object, letter: str) -> None:
                while streaming:
                    await doc.insert(rng.randrange(len(doc.text)), letter)  # type: ignore[attr-defined]
                    await trio.sleep(0.005)

            async with trio.open_nursery() as nursery:
                for doc, letter in ((a, "a"), (b, "b"), (c, "c")):
                    nursery.start_soon(stream, doc, letter)
                for _ in range(20):
                    head = (await server.http.get(f"/v1/documents/{doc_id}",
                                                  headers=owner.headers)).json()["version"]
                    response = await server.http.post(
                        f"/v1/documents/{doc_id}/restore",
                        json={"version": rng.randrange(head + 1)}, headers=owner.headers)
                    statuses.append(response.status_code)
                    await trio.sleep(0.01)
                streaming = False
            for doc in (a, b, c):
                await doc.wait_synchronized()
            final = (await server.http.get(f"/v1/documents/{doc_id}",
                                           headers=owner.headers)).json()
            # The SDK has no "wait for version" call: the last remote ops may be in flight.
            while {a.version, b.version, c.version} != {final["version"]}:  # noqa: ASYNC110
                await trio.sleep(0.01)
            assert a.content == b.content == c.content == final["content"]
    assert statuses == [200] * 20
    ops = (await server.http.get(f"/v1/documents/{doc_id}/ops?from=0",
                                 headers=owner.headers)).json()["ops"]
    assert [op["version"] for op in ops] == list(range(final["version"]))
    content = (await server.http.get(f"/v1/documents/{doc_id}/versions/0",
                                     headers=owner.headers)).json()["content"]
    for op in ops:
        content = ot.apply(content, op["delta"])
    assert content == final["content"]


async def test_a_skipped_seq_is_bad_version_and_not_committed(server: InProcessServer) -> None:
    owner = await sign_up(server.http, "owner")
    doc_id = (await create_document(server.http, owner))["id"]
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as client:
            await client.hello(owner.access_token, "skipper")
            await client.send({"type": "op", "seq": 1, "version": 0, "delta": [{"insert": "a"}]})
            assert await client.recv() == {"type": "ack", "seq": 1, "version": 0}
            await client.send({"type": "op", "seq": 3, "version": 1, "delta": [{"insert": "b"}]})
            refusal = await client.recv()
            assert (refusal["type"], refusal["code"], refusal["seq"]) == ("error", "bad_version", 3)
            # The resend of a committed seq still gets its old ack; the next seq commits.
            await client.send({"type": "op", "seq": 1, "version": 0, "delta": [{"insert": "a"}]})
            assert await client.recv() == {"type": "ack", "seq": 1, "version": 0}
            await client.send({"type": "op", "seq": 2, "version": 1, "delta": [{"insert": "c"}]})
            assert await client.recv() == {"type": "ack", "seq": 2, "version": 1}
    state = (await server.http.get(f"/v1/documents/{doc_id}", headers=owner.headers)).json()
    assert state["version"] == 2
    assert state["content"] == [{"insert": "ca\n"}]
