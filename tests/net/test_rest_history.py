"""History over REST: ops paging, content at a version, restore as an op, presence."""

from __future__ import annotations

import trio

from tests.conftest import InProcessServer
from tests.support.api import create_document, share, sign_up
from tests.support.raw import connect


async def test_history_restore_and_presence(server: InProcessServer) -> None:
    owner = await sign_up(server.http, "owner")
    doc_id = (await create_document(server.http, owner, content="v0"))["id"]
    h = owner.headers
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as client:
            await client.hello(owner.access_token, "w")
            for seq in (1, 2):
                await client.send({"type": "op", "seq": seq, "version": seq - 1,
                                   "delta": [{"insert": str(seq)}]})
                await client.recv_type("ack")
            presence = (await server.http.get(f"/v1/documents/{doc_id}/presence",
                                              headers=h)).json()
            assert [p["client_id"] for p in presence] == ["w"]
            ops = (await server.http.get(f"/v1/documents/{doc_id}/ops?from=1&to=2",
                                         headers=h)).json()["ops"]
            assert [(o["version"], o["delta"]) for o in ops] == [(1, [{"insert": "2"}])]
            old = (await server.http.get(f"/v1/documents/{doc_id}/versions/1",
                                         headers=h)).json()
            assert old == {"version": 1, "content": [{"insert": "1v0\n"}]}
            viewer = await sign_up(server.http, "viewer")
            await share(server.http, owner, doc_id, viewer, "viewer")
            refused = await server.http.post(f"/v1/documents/{doc_id}/restore",
                                             json={"version": 0}, headers=viewer.headers)
            assert refused.status_code == 403
            response = await server.http.post(f"/v1/documents/{doc_id}/restore",
                                              json={"version": 0}, headers=h)
            assert response.status_code == 200, response.text
            frame = await client.recv_type("op")
            assert frame["version"] == 2
    state = (await server.http.get(f"/v1/documents/{doc_id}", headers=h)).json()
    assert (state["version"], state["content"]) == (3, [{"insert": "v0\n"}])
    missing = await server.http.get(f"/v1/documents/{doc_id}/versions/99", headers=h)
    assert missing.status_code == 404
