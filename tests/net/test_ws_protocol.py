"""Every row of PROTOCOL.md §2–§3 through real sockets against an in-process server."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import trio

from tests.conftest import InProcessServer
from tests.support.api import Account, create_document, share, sign_up
from tests.support.raw import connect

pytestmark = pytest.mark.usefixtures("server")
EMOJI = "\U0001F600"


async def _doc(server: InProcessServer, content: object = None) -> tuple[Account, str]:
    owner = await sign_up(server.http, "owner")
    doc = await create_document(server.http, owner, content=content)
    return owner, doc["id"]


async def _head(server: InProcessServer, owner: Account, doc_id: str) -> dict[str, object]:
    response = await server.http.get(f"/v1/documents/{doc_id}", headers=owner.headers)
    assert response.status_code == 200
    return dict(response.json())


async def test_welcome_on_fresh_load(server: InProcessServer) -> None:
    owner, doc_id = await _doc(server)
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as client:
            welcome = await client.hello(owner.access_token, "alpha")
    assert welcome == {
        "type": "welcome", "doc_id": doc_id, "version": 0, "head": 0,
        "snapshot": [{"insert": "\n"}], "role": "owner",
        "user": {"id": owner.id, "name": "owner"}, "client_id": "alpha", "peers": [],
    }


async def test_op_is_acked_and_fanned_out(server: InProcessServer) -> None:
    owner, doc_id = await _doc(server)
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as a, connect(server.ws_url, doc_id) as b:
            await a.hello(owner.access_token, "a")
            await b.hello(owner.access_token, "b")
            await a.send({"type": "op", "seq": 1, "version": 0,
                          "delta": [{"insert": EMOJI + "x", "attributes": {"bold": True}}]})
            assert await a.recv_type("ack", "op") == {"type": "ack", "seq": 1, "version": 0}
            assert await b.recv_type("op") == {
                "type": "op", "version": 0, "client_id": "a", "user_id": owner.id, "seq": 1,
                "delta": [{"insert": EMOJI + "x", "attributes": {"bold": True}}]}
    state = await _head(server, owner, doc_id)
    assert state["version"] == 1
    assert state["content"] == [{"insert": EMOJI + "x", "attributes": {"bold": True}},
                                {"insert": "\n"}]


async def test_concurrent_op_is_transformed_committed_side_wins(server: InProcessServer) -> None:
    owner, doc_id = await _doc(server, content="ab")
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as a, connect(server.ws_url, doc_id) as b:
            await a.hello(owner.access_token, "a")
            await b.hello(owner.access_token, "b")
            await a.send({"type": "op", "seq": 1, "version": 0,
                          "delta": [{"retain": 1}, {"insert": "A"}]})
            await a.recv_type("ack")
            await b.send({"type": "op", "seq": 1, "version": 0,
                          "delta": [{"retain": 1}, {"insert": "B"}]})
            assert await b.recv_type("ack") == {"type": "ack", "seq": 1, "version": 1}
            frame = await a.recv_type("op")
            assert frame["delta"] == [{"retain": 2}, {"insert": "B"}]
    assert (await _head(server, owner, doc_id))["content"] == [{"insert": "aABb\n"}]


async def test_hello_timeout_closes_4408(make_server: object) -> None:
    server = await make_server(hello_timeout_s=0.2)  # type: ignore[operator]
    _, doc_id = await _doc(server)
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as client:
            code, _ = await client.closed()
    assert code == 4408


@pytest.mark.parametrize("message", [
    "not json", "[1, 2]", json.dumps({"type": "launch"}), json.dumps({"no": "type"}),
    json.dumps({"type": "op", "seq": 1, "version": 0, "delta": []}),
    json.dumps({"type": "hello", "token": "x", "client_id": "bad id!", "version": None}),
    json.dumps({"type": "hello", "token": "x", "client_id": "c"}),
    json.dumps({"type": "hello", "token": "x", "client_id": "c", "version": -1}),
    "[" * 100_000 + "]" * 100_000,  # nested deeper than the JSON parser goes
])
async def test_bad_first_frame_closes_4400(server: InProcessServer, message: str) -> None:
    _, doc_id = await _doc(server)
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as client:
            await client.send(message)
            code, frames = await client.closed()
    assert code == 4400
    assert frames and frames[0]["type"] == "error" and frames[0]["code"] == "bad_request"


@pytest.mark.parametrize("message", [
    "{oops", json.dumps({"type": "op", "seq": "1", "version": 0, "delta": []}),
    json.dumps({"type": "op", "seq": 1, "version": 0}),
    json.dumps({"type": "op", "seq": 1, "version": 0, "delta": "text"}),
    json.dumps({"type": "cursor", "version": 0}),
    json.dumps({"type": "hello", "token": "x", "client_id": "c", "version": None}),
])
async def test_bad_frame_in_session_closes_4400(server: InProcessServer, message: str) -> None:
    owner, doc_id = await _doc(server)
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as client:
            await client.hello(owner.access_token)
            await client.send(message)
            code, frames = await client.closed()
    assert code == 4400
    assert [f["code"] for f in frames if f["type"] == "error"] == ["bad_request"]


async def test_binary_frame_closes_4400(server: InProcessServer) -> None:
    owner, doc_id = await _doc(server)
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as client:
            await client.hello(owner.access_token)
            await client.ws.send_message(b"\x00\x01")
            code, _ = await client.closed()
    assert code == 4400


@pytest.mark.parametrize("token", ["garbage", "a.b.c", ""])
async def test_bad_token_closes_4401(server: InProcessServer, token: str) -> None:
    _, doc_id = await _doc(server)
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as client:
            await client.send({"type": "hello", "token": token, "client_id": "c",
                               "version": None})
            code, frames = await client.closed()
    assert code == 4401  # an empty token is a missing one: unauthorized (PROTOCOL.md §3)
    assert frames and frames[0]["code"] == "unauthorized"


async def test_expired_token_closes_4401(server: InProcessServer) -> None:
    from editor.auth.tokens import TokenIssuer

    owner, doc_id = await _doc(server)
    issuer = TokenIssuer({"k": b"test-secret-test-secret-test-secret"}, "k", issuer="editor",
                         audience="editor", ttl_s=60, clock=lambda: 1_000.0)
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as client:
            await client.send({"type": "hello", "token": issuer.issue(owner.id),
                               "client_id": "c", "version": None})
            code, frames = await client.closed()
    assert code == 4401 and frames[0]["code"] == "unauthorized"


async def test_unknown_or_foreign_document_closes_4404(server: InProcessServer) -> None:
    _, doc_id = await _doc(server)
    stranger = await sign_up(server.http, "stranger")
    for target in ("nosuchdocument", doc_id):
        with trio.fail_after(10):
            async with connect(server.ws_url, target) as client:
                await client.send({"type": "hello", "token": stranger.access_token,
                                   "client_id": "c", "version": None})
                code, frames = await client.closed()
        assert code == 4404 and frames[0]["code"] == "not_found"


async def test_hello_version_above_head_closes_4409(server: InProcessServer) -> None:
    owner, doc_id = await _doc(server)
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as client:
            await client.send({"type": "hello", "token": owner.access_token, "client_id": "c",
                               "version": 5})
            code, frames = await client.closed()
    assert code == 4409 and frames[0]["code"] == "bad_version"


async def test_viewer_op_is_forbidden_and_session_stays(server: InProcessServer) -> None:
    owner, doc_id = await _doc(server)
    viewer = await sign_up(server.http, "viewer")
    await share(server.http, owner, doc_id, viewer, "viewer")
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as client:
            welcome = await client.hello(viewer.access_token)
            assert welcome["role"] == "viewer"
            await client.send({"type": "op", "seq": 1, "version": 0, "delta": [{"insert": "x"}]})
            frame = await client.recv()
            assert (frame["type"], frame["code"], frame["seq"]) == ("error", "forbidden", 1)
            await client.send({"type": "ping", "t": 42})
            assert await client.recv() == {"type": "pong", "t": 42}
    assert (await _head(server, owner, doc_id))["version"] == 0


@pytest.mark.parametrize("delta, code", [
    ([{"retain": 5}, {"insert": "x"}], "invalid_op"),
    ([{"delete": 1}], "invalid_op"),
    ([{"insert": "x", "bogus": 1}], "invalid_op"),
    ([{"retain": 0}], "invalid_op"),
    ([{"delete": 1, "attributes": {"bold": True}}], "invalid_op"),
    ([{"retain": 1}, {"insert": "x"}], "invalid_op"),
    ("x" * 10, "bad_request"),
    ([{"insert": "y" * 700_000}] * 0 + [{"insert": {"a": 1, "b": 2}}], "invalid_op"),
])
async def test_invalid_op_is_refused_and_nothing_changes(
    server: InProcessServer, delta: object, code: str
) -> None:
    owner, doc_id = await _doc(server)
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as client:
            await client.hello(owner.access_token)
            await client.send({"type": "op", "seq": 1, "version": 0, "delta": delta})
            frame = await client.recv()
            assert frame["type"] == "error" and frame["code"] == code, frame
            if code == "invalid_op":
                assert frame["seq"] == 1
                await client.send({"type": "op", "seq": 2, "version": 0,
                                   "delta": [{"insert": "ok"}]})
                assert await client.recv() == {"type": "ack", "seq": 2, "version": 0}
    content = (await _head(server, owner, doc_id))["content"]
    assert content == ([{"insert": "ok\n"}] if code == "invalid_op" else [{"insert": "\n"}])


async def test_surrogate_split_is_invalid(server: InProcessServer) -> None:
    owner, doc_id = await _doc(server, content=EMOJI)
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as client:
            await client.hello(owner.access_token)
            await client.send({"type": "op", "seq": 1, "version": 0,
                               "delta": [{"retain": 1}, {"insert": "x"}]})
            frame = await client.recv()
    assert frame["code"] == "invalid_op"


async def test_too_large_content_is_refused(server: InProcessServer) -> None:
    owner, doc_id = await _doc(server)
    chunk = "z" * 900_000
    with trio.fail_after(30):
        async with connect(server.ws_url, doc_id) as client:
            await client.hello(owner.access_token)
            codes = []
            for seq in range(1, 8):
                await client.send({"type": "op", "seq": seq, "version": seq - 1 - len(
                    [c for c in codes if c != "ack"]), "delta": [{"insert": chunk}]})
                frame = await client.recv()
                codes.append(frame["type"] if frame["type"] == "ack" else frame["code"])
    assert codes[:5] == ["ack"] * 5
    assert "too_large" in codes[5:]
    assert (await _head(server, owner, doc_id))["version"] == 5


async def test_version_above_head_is_bad_version(server: InProcessServer) -> None:
    owner, doc_id = await _doc(server)
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as client:
            await client.hello(owner.access_token)
            await client.send({"type": "op", "seq": 1, "version": 3, "delta": [{"insert": "x"}]})
            frame = await client.recv()
            assert (frame["code"], frame["seq"]) == ("bad_version", 1)
            await client.send({"type": "op", "seq": 1, "version": 0, "delta": [{"insert": "x"}]})
            assert await client.recv() == {"type": "ack", "seq": 1, "version": 0}
            # Based on a version that does not include this client's own committed op.
            await client.send({"type": "op", "seq": 2, "version": 0, "delta": [{"insert": "y"}]})
            assert (await client.recv())["code"] == "bad_version"


async def test_oversized_message_closes_1009(server: InProcessServer) -> None:
    owner, doc_id = await _doc(server)
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as client:
            await client.hello(owner.access_token)
            await client.send({"type": "op", "seq": 1, "version": 0,
                               "delta": [{"insert": "x" * (1024 * 1024)}]})
            code, _ = await client.closed()
    assert code == 1009
    assert (await _head(server, owner, doc_id))["version"] == 0


async def test_ping_pong(server: InProcessServer) -> None:
    owner, doc_id = await _doc(server)
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as client:
            await client.hello(owner.access_token)
            await client.send({"type": "ping", "t": {"any": ["json", 1]}})
            assert await client.recv() == {"type": "pong", "t": {"any": ["json", 1]}}


async def test_cursor_is_transformed_and_leave_is_sent(server: InProcessServer) -> None:
    owner, doc_id = await _doc(server, content="hello")
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as a:
            await a.hello(owner.access_token, "a")
            async with connect(server.ws_url, doc_id) as b:
                await b.hello(owner.access_token, "b")
                await a.send({"type": "op", "seq": 1, "version": 0, "delta": [{"insert": "12"}]})
                await a.recv_type("ack")
                await b.recv_type("op")
                # b's cursor at version 0 is transformed over a's insert.
                await b.send({"type": "cursor", "version": 0, "index": 1, "length": 2})
                frame = await a.recv_type("cursor")
                assert frame == {"type": "cursor", "client_id": "b",
                                 "user": {"id": owner.id, "name": "owner"},
                                 "version": 1, "index": 3, "length": 2}
                async with connect(server.ws_url, doc_id) as c:
                    welcome = await c.hello(owner.access_token, "c")
                    assert welcome["peers"] == [frame]
            assert await a.recv_type("leave") in ({"type": "leave", "client_id": "b"},
                                                  {"type": "leave", "client_id": "c"})


async def test_a_base_older_than_memory(
        make_server: Callable[..., Awaitable[InProcessServer]], tmp_path: Path) -> None:
    """Memory holds 3 ops here. An op based before them is still transformed through the
    ops read from the store (PROTOCOL §2); a cursor based before them shows no selection
    (a hint is not worth a read of history per frame)."""
    server = await make_server(tmp_path, history_cache_ops=3)
    owner, doc_id = await _doc(server, content="hello")
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as a:
            await a.hello(owner.access_token, "a")
            for seq in range(1, 6):
                await a.send({"type": "op", "seq": seq, "version": seq - 1,
                              "delta": [{"insert": str(seq)}]})
                await a.recv_type("ack")
            async with connect(server.ws_url, doc_id) as late:
                await late.hello(owner.access_token, "late")
                await late.send({"type": "op", "seq": 1, "version": 0,
                                 "delta": [{"retain": 2}, {"insert": "X"}]})
                assert await late.recv_type("ack") == {"type": "ack", "seq": 1, "version": 5}
                await late.send({"type": "cursor", "version": 0, "index": 1, "length": 2})
                assert (await a.recv_type("cursor"))["index"] is None
                await late.send({"type": "cursor", "version": 4, "index": 1, "length": 2})
                assert (await a.recv_type("cursor"))["index"] == 2
    assert (await _head(server, owner, doc_id))["content"] == [{"insert": "54321heXllo\n"}]


async def test_resume_delivers_every_op_and_own_op_as_ack(server: InProcessServer) -> None:
    owner, doc_id = await _doc(server)
    with trio.fail_after(20):
        async with connect(server.ws_url, doc_id) as a:
            await a.hello(owner.access_token, "a")
            await a.send({"type": "op", "seq": 1, "version": 0, "delta": [{"insert": "a"}]})
        async with connect(server.ws_url, doc_id) as b:
            await b.hello(owner.access_token, "b")
            for seq in range(1, 501):
                await b.send({"type": "op", "seq": seq, "version": seq,
                              "delta": [{"insert": "b"}]})
                assert (await b.recv_type("ack"))["version"] == seq
        async with connect(server.ws_url, doc_id) as a:
            welcome = await a.hello(owner.access_token, "a", version=0)
            assert (welcome["version"], welcome["head"], welcome["snapshot"]) == (0, 501, None)
            frames = [await a.recv() for _ in range(501)]
            assert [f["version"] for f in frames] == list(range(501))
            assert (frames[0]["client_id"], frames[0]["seq"]) == ("a", 1)
            # Exactly once: resending seq 1 answers the version it already had.
            await a.send({"type": "op", "seq": 1, "version": 0, "delta": [{"insert": "a"}]})
            assert await a.recv() == {"type": "ack", "seq": 1, "version": 0}
    state = await _head(server, owner, doc_id)
    assert state["version"] == 501
    assert state["content"] == [{"insert": "b" * 500 + "a\n"}]


async def test_role_changes_apply_to_open_sessions(server: InProcessServer) -> None:
    owner, doc_id = await _doc(server)
    member = await sign_up(server.http, "member")
    await share(server.http, owner, doc_id, member, "editor")
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as client:
            await client.hello(member.access_token)
            await client.send({"type": "op", "seq": 1, "version": 0, "delta": [{"insert": "x"}]})
            await client.recv_type("ack")
            await share(server.http, owner, doc_id, member, "viewer")
            await client.send({"type": "op", "seq": 2, "version": 1, "delta": [{"insert": "y"}]})
            assert (await client.recv_type("error"))["code"] == "forbidden"
            response = await server.http.delete(
                f"/v1/documents/{doc_id}/members/{member.email}", headers=owner.headers)
            assert response.status_code == 204
            code, _ = await client.closed()
    assert code == 4403


async def test_deleting_the_document_closes_4404(server: InProcessServer) -> None:
    owner, doc_id = await _doc(server)
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as client:
            await client.hello(owner.access_token)
            response = await server.http.delete(f"/v1/documents/{doc_id}",
                                                headers=owner.headers)
            assert response.status_code == 204
            code, _ = await client.closed()
    assert code == 4404


async def test_flooding_client_is_closed_4429(make_server: object) -> None:
    server = await make_server(ops_per_second_limit=5.0, ops_burst=3)  # type: ignore[operator]
    owner, doc_id = await _doc(server)
    with trio.fail_after(20):
        async with connect(server.ws_url, doc_id) as client:
            await client.hello(owner.access_token)
            for seq in range(1, 20):
                await client.send({"type": "op", "seq": seq, "version": 0,
                                   "delta": [{"insert": "x"}]})
            code, frames = await client.closed()
    assert code == 4429
    assert frames[-1]["code"] == "rate_limited"


async def test_a_broken_session_does_not_disturb_others(server: InProcessServer) -> None:
    owner, doc_id = await _doc(server)
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as good:
            await good.hello(owner.access_token, "good")
            for junk in ("\x00", "[", json.dumps({"type": "op", "seq": 1, "version": 0,
                                                   "delta": [{"insert": 5}]})):
                async with connect(server.ws_url, doc_id) as bad:
                    await bad.hello(owner.access_token, "bad")
                    await bad.send(junk)
                    await bad.recv_type("error")
            await good.send({"type": "op", "seq": 1, "version": 0, "delta": [{"insert": "x"}]})
            assert (await good.recv_type("ack"))["version"] == 0
