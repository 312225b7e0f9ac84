"""A full send queue: a slow reader closes with 1001, a flood with ``rate_limited`` and 4429.

PROTOCOL.md §3: a client that keeps flooding gets ``rate_limited`` and 4429 (back off, do
not reconnect at once); a client that merely reads slowly is closed with 1001 and may resume.
"""

from __future__ import annotations

import socket

import pytest
import trio
from trio_websocket import wrap_client_stream

from editor.engine.outgoing import AckOut, ErrorOut, OpsOut, OwnOpsOut
from editor.engine.session import FLOOD_UNANSWERED_OPS, Session
from editor.errors import CloseCode
from editor.net.ws import REBASE_OPS_PER_TOKEN, op_cost
from tests.conftest import InProcessServer
from tests.support.api import create_document, sign_up
from tests.support.raw import RawClient, connect


def _session(queue_messages: int = 2) -> Session:
    return Session("doc", "user", "name", "client", "editor", queue_messages)


async def test_a_full_queue_of_other_sessions_frames_is_a_slow_reader() -> None:
    session = _session()
    session.op_received()  # one op in flight is what the protocol allows
    for _ in range(3):
        session.deliver(OpsOut((), 0.0))
    assert session.close_code == CloseCode.GOING_AWAY
    assert session.last_error is None


async def test_a_full_queue_of_answers_to_unacked_ops_is_a_flood() -> None:
    session = _session()
    for _ in range(FLOOD_UNANSWERED_OPS):
        session.op_received()
    for seq in range(3):
        session.deliver(ErrorOut("bad_version", "no", seq))
    assert session.close_code == CloseCode.RATE_LIMITED
    assert session.last_error is not None and session.last_error.code == "rate_limited"


async def test_answers_sent_are_no_longer_owed() -> None:
    session = _session(queue_messages=100)
    for _ in range(5):
        session.op_received()
    session.sent(AckOut(1, 0))
    session.sent(ErrorOut("forbidden", "viewer", 2))
    session.sent(OwnOpsOut(OpsOut((), 0.0), frozenset({0, 1})))
    session.sent(ErrorOut("bad_version", "cursor above the head"))  # not about an op
    assert session.ops_unanswered == 1
    session.sent(AckOut(3, 1))
    session.sent(AckOut(4, 2))
    assert session.ops_unanswered == 0


async def test_op_flood_without_reading_acks_is_closed_4429(make_server: object) -> None:
    server: InProcessServer = await make_server(session_queue_messages=8)  # type: ignore[operator]
    owner = await sign_up(server.http, "owner")
    doc_id = (await create_document(server.http, owner))["id"]
    with trio.fail_after(20):
        async with connect(server.ws_url, doc_id) as flooder, \
                connect(server.ws_url, doc_id) as bystander:
            await flooder.hello(owner.access_token, "flooder")
            await bystander.hello(owner.access_token, "bystander")
            sent = 0
            try:
                for seq in range(1, 2001):
                    await flooder.send({"type": "op", "seq": seq, "version": 0,
                                        "delta": [{"insert": "x"}]})
                    sent += 1
            except Exception:  # noqa: BLE001 (the server may close while we still send)
                pass
            code, frames = await flooder.closed()
            # The server is fine and the other session goes on editing.
            await bystander.send({"type": "op", "seq": 1, "version": 1,
                                  "delta": [{"insert": "y"}]})
            assert (await bystander.recv_type("ack"))["seq"] == 1
    assert code == 4429, (code, frames[-3:])
    assert frames[-1]["type"] == "error" and frames[-1]["code"] == "rate_limited"
    assert sent > FLOOD_UNANSWERED_OPS


async def test_slow_reader_is_closed_1001_and_resumes(
        make_server: object, monkeypatch: pytest.MonkeyPatch) -> None:
    server: InProcessServer = await make_server(session_queue_messages=4)  # type: ignore[operator]
    owner = await sign_up(server.http, "owner")
    doc_id = (await create_document(server.http, owner))["id"]
    sessions = _watch_sessions(monkeypatch)
    chunk = "z" * 100_000
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            slow = await _tiny_window_client(nursery, server.ws_url, doc_id)
            await slow.hello(owner.access_token, "slow")
            (slow_session,) = sessions
            async with connect(server.ws_url, doc_id) as writer:
                await writer.hello(owner.access_token, "writer")
                version, seq = 0, 0
                # Fan-out the slow session does not read: its socket fills, then its queue.
                # It owes no answers, so it is a slow reader, not a flood.
                while slow_session.close_code is None:
                    seq += 1
                    delta = [{"insert": chunk}] if seq % 2 else [{"delete": len(chunk)}]
                    await writer.send({"type": "op", "seq": seq, "version": version,
                                       "delta": delta})
                    version = (await writer.recv_type("ack"))["version"] + 1
                code, frames = await slow.closed()
            await slow.ws.aclose()
    assert code == 1001, code
    assert slow_session.close_reason == "too slow: the send queue is full"
    assert not any(frame.get("type") == "error" for frame in frames)
    # 1001 invites a resume from the last version applied.
    async with connect(server.ws_url, doc_id) as again:
        welcome = await again.hello(owner.access_token, "slow", version=0)
        assert welcome["version"] == 0 and welcome["head"] == version


def _watch_sessions(monkeypatch: pytest.MonkeyPatch) -> list[Session]:
    """Every server-side session made from now on (the test observes, the server decides)."""
    made: list[Session] = []
    original = Session.__post_init__

    def record(self: Session) -> None:
        original(self)
        made.append(self)

    monkeypatch.setattr(Session, "__post_init__", record)
    return made


async def _tiny_window_client(nursery: trio.Nursery, ws_url: str, doc_id: str) -> RawClient:
    """A client whose socket takes in little: the server's sends block soon."""
    host, port = ws_url.removeprefix("ws://").rsplit(":", 1)
    stream = await trio.open_tcp_stream(host, int(port))
    stream.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    ws = await wrap_client_stream(nursery, stream, host, f"/v1/docs/{doc_id}/ws",
                                  max_message_size=2**20)
    return RawClient(ws)


def test_an_op_based_far_behind_costs_more_tokens() -> None:
    """Its transform runs through every op since its base: it is charged for that work,
    up to the whole burst (more could never be taken)."""
    assert op_cost(head=50, version=50, burst=400) == 1.0
    assert op_cost(head=50, version=60, burst=400) == 1.0  # above the head: refused anyway
    assert op_cost(head=5_000, version=4_000, burst=400) == 1.0 + 1_000 / REBASE_OPS_PER_TOKEN
    assert op_cost(head=1_000_000, version=0, burst=400) == 400.0
