"""Lone surrogates (JSON escapes like ``\\ud800``) anywhere in a frame are refused, not fatal.

Found by the frame fuzzer (tests/hardening/): an attribute value or an embed holding one
reached the UTF-8 encoder and took the whole server down; a ping's ``t`` holding one closed
the session with ``internal``. The OT core's validation refuses them in any string of an op,
so creation content over REST holding one is ``invalid_op`` too (it was a 500 at the store).
"""

from __future__ import annotations

import pytest
import trio

from tests.conftest import InProcessServer
from tests.support.api import create_document, sign_up
from tests.support.raw import connect

HOSTILE_DELTAS = [
    '[{"insert":"a","attributes":{"link":"\\ud800"}}]',
    '[{"insert":{"image":"\\udfff"}}]',
    '[{"insert":"a","attributes":{"\\ud800":true}}]',
    '[{"retain":1,"attributes":{"color":["\\ud83d"]}}]',
]


@pytest.mark.parametrize("delta", HOSTILE_DELTAS)
async def test_an_op_holding_a_lone_surrogate_is_invalid(server: InProcessServer,
                                                         delta: str) -> None:
    owner = await sign_up(server.http, "owner")
    doc_id = (await create_document(server.http, owner, content="ab"))["id"]
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as client, \
                connect(server.ws_url, doc_id) as other:
            await client.hello(owner.access_token, "client")
            await other.hello(owner.access_token, "other")
            await client.send(f'{{"type":"op","seq":1,"version":0,"delta":{delta}}}')
            refused = await client.recv_type("ack", "error")
            assert refused["code"] == "invalid_op" and refused["seq"] == 1
            assert "lone surrogate" in refused["message"]
            # The session stays, the refusal counts as answered (seq 2 is next), and the
            # server serves everyone.
            await client.send({"type": "op", "seq": 2, "version": 0,
                               "delta": [{"insert": "x"}]})
            assert await client.recv_type("ack", "error") == {"type": "ack", "seq": 2,
                                                               "version": 0}
            await other.send({"type": "op", "seq": 1, "version": 1,
                              "delta": [{"insert": "y"}]})
            assert (await other.recv_type("ack", "error"))["type"] == "ack"
    document = (await server.http.get(f"/v1/documents/{doc_id}", headers=owner.headers)).json()
    assert document["content"] == [{"insert": "yxab\n"}]


async def test_a_ping_holding_a_lone_surrogate_is_a_bad_request(
        server: InProcessServer) -> None:
    owner = await sign_up(server.http, "owner")
    doc_id = (await create_document(server.http, owner))["id"]
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as client:
            await client.hello(owner.access_token)
            await client.send('{"type":"ping","t":["ok","\\ude8d"]}')
            code, frames = await client.closed()
    assert code == 4400
    assert frames[-1]["code"] == "bad_request" and "lone surrogate" in frames[-1]["message"]


@pytest.mark.parametrize("delta", HOSTILE_DELTAS[:3])
async def test_creation_content_holding_a_lone_surrogate_is_invalid(
        server: InProcessServer, delta: str) -> None:
    owner = await sign_up(server.http, "owner")
    body = f'{{"title":"doc","content":{delta}}}'
    response = await server.http.post("/v1/documents", content=body, headers={
        **owner.headers, "Content-Type": "application/json"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_op" and "lone surrogate" in error["message"]
