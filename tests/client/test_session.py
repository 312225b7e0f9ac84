"""The Trio shell against a scripted WebSocket server speaking PROTOCOL.md."""

from __future__ import annotations

import json
import random

import pytest
import trio
import trio.testing

from editor.client import (
    AccessRevoked,
    Acked,
    BadRequest,
    ClientOptions,
    ConnectionLost,
    ConnectionState,
    ConnectionStateChanged,
    DocumentClosed,
    DocumentNotFound,
    OpRejected,
    Reloaded,
    RemoteChange,
    SessionEnded,
    SessionReplaced,
    Unauthorized,
    backoff_delay_s,
    open_document,
)
from tests.client.peer import ScriptedServer, op, start_server, welcome

FAST = ClientOptions(ping_interval_s=1000.0)


async def test_hello_welcome_and_a_round_trip(nursery: trio.Nursery) -> None:
    server = await start_server(nursery)

    async def script() -> None:
        peer = await server.next()
        hello = await peer.recv()
        assert hello == {"type": "hello", "token": "tok", "client_id": "me", "version": None}
        await peer.send(welcome(4, snapshot="ab\n", role="owner"))
        assert await peer.recv() == {"type": "op", "seq": 1, "version": 4,
                                     "delta": [{"retain": 2}, {"insert": "!"}]}
        await peer.send(op(4, [{"insert": "B"}]), {"type": "ack", "seq": 1, "version": 5})
        assert await peer.wait_closed_by_client() == 1000

    nursery.start_soon(script)
    with trio.fail_after(5):
        async with open_document(None, "d1", "tok", client_id="me", ws_url=server.ws_url,
                                 options=FAST) as doc:
            assert (doc.text, doc.version, doc.role, doc.user.name) == ("ab\n", 4, "owner", "Ann")
            assert doc.connection_state == ConnectionState.CONNECTED
            await doc.insert(2, "!")
            assert doc.text == "ab!\n" and not doc.synchronized
            await doc.wait_synchronized()
            assert doc.text == "Bab!\n" and doc.version == 6
            events = [doc.events().receive_nowait() for _ in range(3)]
        assert events == [
            ConnectionStateChanged(ConnectionState.CONNECTED),
            RemoteChange(4, [{"insert": "B"}], [{"insert": "B"}], "bob", "u2", 1),
            Acked(1, 5),
        ]
        with pytest.raises(DocumentClosed):
            await doc.insert(0, "late")
        assert doc.connection_state == ConnectionState.OFFLINE
        assert [event async for event in doc.events()] == [
            ConnectionStateChanged(ConnectionState.OFFLINE)
        ]


async def test_resume_from_last_version_and_resend_pending_after_catch_up(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    server = await start_server(nursery)
    tokens = iter(["t1", "t2"])

    async def token() -> str:
        return next(tokens)

    async def script() -> None:
        peer = await server.next()
        assert (await peer.recv())["token"] == "t1"
        await peer.send(welcome(0, snapshot="ab\n"))
        assert (await peer.recv())["delta"] == [{"retain": 1}, {"insert": "x"}]
        await peer.close(1012, "restarting")  # the op is lost: never committed
        peer = await server.next()
        hello = await peer.recv()
        assert (hello["version"], hello["token"], hello["client_id"]) == (0, "t2", "me")
        await peer.send(welcome(0, head=2, snapshot=None))
        await peer.send(op(0, [{"insert": "1"}]), op(1, [{"insert": "2"}], seq=2))
        resent = await peer.recv_type("op")
        assert resent == {"type": "op", "seq": 1, "version": 2,
                          "delta": [{"retain": 3}, {"insert": "x"}]}
        await peer.send({"type": "ack", "seq": 1, "version": 2})
        await peer.wait_closed_by_client()

    nursery.start_soon(script)
    with trio.fail_after(30):
        async with open_document(None, "d1", token, client_id="me", ws_url=server.ws_url,
                                 options=FAST) as doc:
            await doc.insert(1, "x")
            await doc.wait_synchronized()
            assert (doc.text, doc.version) == ("21axb\n", 3)
    assert server.accepted == 2


async def test_pending_op_replayed_as_own_op_frame_is_acked_not_resent(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    server = await start_server(nursery)

    async def script() -> None:
        peer = await server.next()
        await peer.recv()
        await peer.send(welcome(0))
        await peer.recv()  # committed, but the connection drops before the ack
        await peer.close(1001)
        peer = await server.next()
        assert (await peer.recv())["version"] == 0
        await peer.send(welcome(0, head=1, snapshot=None),
                        op(0, [{"insert": "x"}], client_id="me", seq=1))
        with trio.move_on_after(5):
            frame = await peer.recv()
            raise AssertionError(f"nothing should be resent, got {frame}")
        await peer.wait_closed_by_client()

    nursery.start_soon(script)
    with trio.fail_after(30):
        async with open_document(None, "d1", "t", client_id="me", ws_url=server.ws_url,
                                 options=FAST) as doc:
            await doc.insert(0, "x")
            await doc.wait_synchronized()
            assert (doc.text, doc.version) == ("xab\n", 1)
            await trio.sleep(6)


async def test_edits_made_offline_are_kept_and_sent_after_reconnect(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    server = await start_server(nursery)
    reconnected = trio.Event()

    async def script() -> None:
        peer = await server.next()
        await peer.recv()
        await peer.send(welcome(0))
        await peer.close(1011)
        peer = await server.next()
        await peer.recv()
        reconnected.set()
        await peer.send(welcome(0, snapshot=None))
        first = await peer.recv_type("op")
        assert (first["seq"], first["delta"]) == (1, [{"insert": "1"}])
        await peer.send({"type": "ack", "seq": 1, "version": 0})
        second = await peer.recv_type("op")  # composed while offline and awaiting
        assert (second["seq"], second["version"], second["delta"]) == (
            2, 1, [{"retain": 1}, {"insert": "23"}])
        await peer.send({"type": "ack", "seq": 2, "version": 1})
        await peer.wait_closed_by_client()

    nursery.start_soon(script)
    with trio.fail_after(30):
        async with open_document(None, "d1", "t", client_id="me", ws_url=server.ws_url,
                                 options=FAST) as doc:
            events = doc.events()
            assert await events.receive() == ConnectionStateChanged(ConnectionState.CONNECTED)
            assert await events.receive() == ConnectionStateChanged(ConnectionState.RECONNECTING)
            await doc.insert(0, "1")
            await doc.insert(1, "2")
            await doc.insert(2, "3")
            assert doc.text == "123ab\n"
            await doc.wait_synchronized()
            assert reconnected.is_set() and doc.version == 2


@pytest.mark.parametrize(
    ("code", "error"),
    [(4400, BadRequest), (4401, Unauthorized), (4403, AccessRevoked), (4404, DocumentNotFound)],
)
async def test_no_reconnect_after_fatal_close_before_welcome(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock, code: int,
    error: type[SessionEnded],
) -> None:
    server = await start_server(nursery)

    async def script() -> None:
        peer = await server.next()
        await peer.recv()
        await peer.send({"type": "error", "code": "x", "message": "go away"})
        await peer.close(code)

    nursery.start_soon(script)
    with trio.fail_after(5), pytest.raises(error) as caught:
        async with open_document(None, "d1", "t", ws_url=server.ws_url, options=FAST):
            raise AssertionError("never opened")
    assert caught.value.code == code and str(caught.value) == "go away"
    await trio.sleep(120)
    assert server.accepted == 1


async def test_access_revoked_mid_session_ends_the_body_with_the_error(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    server = await start_server(nursery)

    async def script() -> None:
        peer = await server.next()
        await peer.recv()
        await peer.send(welcome(0))
        await peer.recv_type("op")
        await peer.close(4403, "access revoked")

    nursery.start_soon(script)
    with trio.fail_after(5), pytest.raises(AccessRevoked):
        async with open_document(None, "d1", "t", ws_url=server.ws_url, options=FAST) as doc:
            await doc.insert(0, "x")
            await doc.wait_synchronized()
    with pytest.raises(AccessRevoked):
        await doc.insert(0, "y")
    await trio.sleep(120)
    assert server.accepted == 1


async def test_reconnect_false_raises_connection_lost(nursery: trio.Nursery) -> None:
    server = await start_server(nursery)

    async def script() -> None:
        peer = await server.next()
        await peer.recv()
        await peer.send(welcome(0))
        await peer.close(1012)

    nursery.start_soon(script)
    with trio.fail_after(5), pytest.raises(ConnectionLost):
        async with open_document(None, "d1", "t", ws_url=server.ws_url, reconnect=False,
                                 options=FAST):
            await trio.sleep_forever()


async def test_backoff_schedule_between_failed_attempts(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    server = await start_server(nursery)
    connected_at: list[float] = []

    async def script() -> None:
        for _ in range(4):
            peer = await server.next()
            connected_at.append(trio.current_time())
            await peer.recv()
            await peer.close(1011)
        peer = await server.next()
        connected_at.append(trio.current_time())
        await peer.recv()
        await peer.send(welcome(0))
        await peer.wait_closed_by_client()

    nursery.start_soon(script)
    with trio.fail_after(60):
        async with open_document(None, "d1", "t", ws_url=server.ws_url, options=FAST,
                                 rng=random.Random(7)):
            pass
    expected_rng = random.Random(7)
    expected = [backoff_delay_s(attempt, rng=expected_rng) for attempt in range(4)]
    gaps = [later - earlier for earlier, later in zip(connected_at, connected_at[1:], strict=False)]
    assert gaps == pytest.approx(expected, abs=0.01)
    assert 0.5 <= gaps[0] <= 1 and 1 <= gaps[1] <= 2 and 2 <= gaps[2] <= 4 and 4 <= gaps[3] <= 8


async def test_missing_pongs_mean_a_dead_connection(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    server = await start_server(nursery)
    options = ClientOptions(ping_interval_s=5, pong_timeout_s=2)

    async def script() -> None:
        peer = await server.next()
        await peer.recv()
        await peer.send(welcome(0))
        ping = await peer.recv()
        assert ping["type"] == "ping"
        await peer.send({"type": "pong", "t": ping["t"]})  # answered: the session stays
        assert (await peer.recv())["type"] == "ping"  # not answered
        silent_since = trio.current_time()
        peer = await server.next()
        assert trio.current_time() - silent_since >= 2
        assert (await peer.recv())["version"] == 0
        await peer.send(welcome(0, snapshot=None))
        await peer.wait_closed_by_client()

    nursery.start_soon(script)
    with trio.fail_after(60):
        async with open_document(None, "d1", "t", ws_url=server.ws_url, options=options) as doc:
            events = doc.events()
            assert await events.receive() == ConnectionStateChanged(ConnectionState.CONNECTED)
            assert await events.receive() == ConnectionStateChanged(ConnectionState.RECONNECTING)
            assert doc.rtt_s is not None
            assert await events.receive() == ConnectionStateChanged(ConnectionState.CONNECTED)


async def test_invalid_op_reloads_at_once_with_a_fresh_snapshot(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    server = await start_server(nursery)

    async def script() -> None:
        peer = await server.next()
        await peer.recv()
        await peer.send(welcome(0))
        frame = await peer.recv_type("op")
        await peer.send({"type": "error", "code": "invalid_op", "message": "no",
                         "seq": frame["seq"]})
        assert await peer.wait_closed_by_client() == 1000
        closed_at = trio.current_time()
        peer = await server.next()
        assert trio.current_time() - closed_at < 0.1  # no backoff for a reload
        assert (await peer.recv())["version"] is None
        await peer.send(welcome(3, snapshot="fresh\n"))
        await peer.wait_closed_by_client()

    nursery.start_soon(script)
    with trio.fail_after(30):
        async with open_document(None, "d1", "t", ws_url=server.ws_url, options=FAST) as doc:
            await doc.insert(0, "x")
            async for event in doc.events():
                if isinstance(event, Reloaded):
                    assert event == Reloaded("invalid_op", [{"insert": "x"}])
                    break
            assert (doc.text, doc.version, doc.synchronized) == ("fresh\n", 3, True)


async def test_forbidden_reverts_and_keeps_the_connection(nursery: trio.Nursery) -> None:
    server = await start_server(nursery)

    async def script() -> None:
        peer = await server.next()
        await peer.recv()
        await peer.send(welcome(0, role="viewer"))
        frame = await peer.recv_type("op")
        await peer.send({"type": "error", "code": "forbidden", "message": "viewers cannot edit",
                         "seq": frame["seq"]})
        await peer.wait_closed_by_client()

    nursery.start_soon(script)
    with trio.fail_after(5):
        async with open_document(None, "d1", "t", ws_url=server.ws_url, options=FAST) as doc:
            assert doc.role == "viewer"
            await doc.insert(0, "x")
            async for event in doc.events():
                if isinstance(event, OpRejected):
                    assert (event.code, event.dropped) == ("forbidden", [{"insert": "x"}])
                    break
            assert doc.text == "ab\n" and doc.synchronized
            assert doc.connection_state == ConnectionState.CONNECTED
    assert server.accepted == 1


async def test_user_exception_leaves_unwrapped_and_the_client_closes_normally(
    nursery: trio.Nursery,
) -> None:
    server = await start_server(nursery)
    close_codes: list[int | None] = []

    async def script() -> None:
        peer = await server.next()
        await peer.recv()
        await peer.send(welcome(0))
        close_codes.append(await peer.wait_closed_by_client())

    nursery.start_soon(script)
    with trio.fail_after(5), pytest.raises(KeyError):
        async with open_document(None, "d1", "t", ws_url=server.ws_url, options=FAST):
            raise KeyError("mine")
    await trio.testing.wait_all_tasks_blocked()
    assert close_codes == [1000]


async def test_token_callable_and_base_url_config_lookup(nursery: trio.Nursery) -> None:
    server = await start_server(nursery)
    http_port = await nursery.start(serve_config, server)

    async def script() -> None:
        peer = await server.next()
        await peer.recv()
        await peer.send(welcome(0))
        await peer.wait_closed_by_client()

    nursery.start_soon(script)
    with trio.fail_after(5):
        async with open_document(f"http://127.0.0.1:{http_port}/", "d1", "t",
                                 options=FAST) as doc:
            assert doc.text == "ab\n"


async def serve_config(
    server: ScriptedServer, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED
) -> None:
    """A one-route HTTP server: ``GET /v1/config``."""

    async def handle(stream: trio.SocketStream) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            request += await stream.receive_some(4096)
        assert request.startswith(b"GET /v1/config HTTP/1.1")
        body = json.dumps({"ws_url": f"{server.ws_url}/", "version": "test"}).encode()
        await stream.send_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                              b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                              % (len(body), body))
        await stream.aclose()

    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    task_status.started(listeners[0].socket.getsockname()[1])
    await trio.serve_listeners(handle, listeners)


async def test_http_rejection_of_the_upgrade_is_fatal_for_404(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    server = await start_server(nursery)
    server.reject_with = 404
    with trio.fail_after(5), pytest.raises(DocumentNotFound, match="no such document"):
        async with open_document(None, "d1", "t", ws_url=server.ws_url, options=FAST):
            raise AssertionError("never opened")
    assert server.accepted == 1


async def test_no_welcome_in_time_means_reconnect(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    server = await start_server(nursery)

    async def script() -> None:
        peer = await server.next()
        await peer.recv()
        opened_at = trio.current_time()
        peer = await server.next()  # the client gave up on the silent first one
        assert trio.current_time() - opened_at >= FAST.welcome_timeout_s
        await peer.recv()
        await peer.send(welcome(0))
        await peer.wait_closed_by_client()

    nursery.start_soon(script)
    with trio.fail_after(60):
        async with open_document(None, "d1", "t", ws_url=server.ws_url, options=FAST) as doc:
            assert doc.text == "ab\n"
    assert server.accepted == 2


async def test_replaced_by_a_newer_connection_is_not_retried(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    server = await start_server(nursery)

    async def script() -> None:
        peer = await server.next()
        await peer.recv()
        await peer.send(welcome(0))
        await peer.close(1000, "replaced by a newer connection")

    nursery.start_soon(script)
    with trio.fail_after(5), pytest.raises(SessionReplaced):
        async with open_document(None, "d1", "t", ws_url=server.ws_url, options=FAST):
            await trio.sleep_forever()
    await trio.sleep(120)
    assert server.accepted == 1


async def test_backoff_restarts_only_after_a_connection_that_lasted(
    nursery: trio.Nursery, autojump_clock: trio.testing.MockClock
) -> None:
    server = await start_server(nursery)
    closed_at: list[float] = []
    opened_at: list[float] = []
    last_one = trio.Event()

    async def script() -> None:
        for lived_s in [0, 0, 0, 20, 0]:
            peer = await server.next()
            opened_at.append(trio.current_time())
            await peer.recv()
            await peer.send(welcome(0, snapshot=None) if opened_at[1:] else welcome(0))
            await trio.sleep(lived_s)
            closed_at.append(trio.current_time())
            await peer.close(1011)
        peer = await server.next()
        opened_at.append(trio.current_time())
        await peer.recv()
        await peer.send(welcome(0, snapshot=None))
        last_one.set()
        await peer.wait_closed_by_client()

    nursery.start_soon(script)
    with trio.fail_after(120):
        async with open_document(None, "d1", "t", ws_url=server.ws_url, options=FAST) as doc:
            await last_one.wait()
            assert doc.version == 0
    gaps = [opened - closed for closed, opened in zip(closed_at, opened_at[1:], strict=True)]
    assert 0.5 <= gaps[0] <= 1 and 1 <= gaps[1] <= 2 and 2 <= gaps[2] <= 4
    assert 0.5 <= gaps[3] <= 1  # after 20 s of a good connection: from the start again
    assert 1 <= gaps[4] <= 2
