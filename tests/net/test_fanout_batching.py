"""The session writer (editor/net/ws.py) and its send path (editor/net/wsconn.py).

PROTOCOL.md §2 "Batching": what is queued when the writer wakes goes out as one message,
a JSON array of the frames in order; a committed batch sent alone is the document's shared
WebSocket frame, built once.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing
from trio_websocket import WebSocketConnection, wrap_client_stream, wrap_server_stream
from wsproto.frame_protocol import FrameDecoder

from editor.engine.outgoing import AckOut, CursorOut, OpsOut, OwnOpsOut
from editor.engine.session import Session
from editor.net.ws import _Writer
from editor.net.wsconn import send_frame, text_frame
from editor.store.records import CommittedOp


def _op(version: int, client_id: str = "other", seq: int = 1) -> CommittedOp:
    return CommittedOp("doc", version, [{"insert": f"v{version}"}], "user", client_id, seq, 0.0)


@asynccontextmanager
async def _pair() -> AsyncIterator[tuple[WebSocketConnection, WebSocketConnection]]:
    """A server and a client WebSocket over a socket pair (the writer's fast path)."""
    left, right = trio.socket.socketpair()
    async with trio.open_nursery() as nursery:
        server_stream, client_stream = trio.SocketStream(left), trio.SocketStream(right)
        accepted = trio.Event()
        server: list[WebSocketConnection] = []

        async def accept() -> None:
            request = await wrap_server_stream(nursery, server_stream)
            server.append(await request.accept())
            accepted.set()

        nursery.start_soon(accept)
        client = await wrap_client_stream(nursery, client_stream, "localhost", "/")
        await accepted.wait()
        yield server[0], client
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 200_000])
def test_text_frame_is_what_wsproto_reads(size: int) -> None:
    message = "é" * (size // 4) + "x" * (size - 2 * (size // 4))  # ``size`` bytes of UTF-8
    decoder = FrameDecoder(client=True)
    decoder.receive_bytes(text_frame(message))
    frame = decoder.process_buffer()
    assert frame is not None and frame.message_finished
    assert frame.opcode.name == "TEXT" and isinstance(frame.payload, bytes | bytearray)
    assert frame.payload.decode() == message


async def test_everything_queued_goes_out_as_one_array_in_order() -> None:
    session = Session("doc", "user", "name", "me", "editor", 16)
    for _ in range(2):
        session.op_received()
    batch = OpsOut((_op(0), _op(1, "me", 1)))
    session.deliver(batch)
    session.deliver(OwnOpsOut(OpsOut((_op(2, "me", 2),)), frozenset({0})))
    session.deliver(CursorOut("other", {"id": "u", "name": "n"}, 3, 1, 0))
    session.deliver(AckOut(7, 2))
    with trio.fail_after(10):
        async with _pair() as (server, client), trio.open_nursery() as nursery:
            nursery.start_soon(_Writer(server, session).run, server, session)
            frames = json.loads(await client.get_message())
            assert [f["type"] for f in frames] == ["op", "op", "ack", "cursor", "ack"]
            assert [f.get("version") for f in frames] == [0, 1, 2, 3, 2]
            assert session.ops_unanswered == 0  # every answer in the message counted as sent
            # Alone, a batch is its shared frame, built once for every session; with the
            # writer idle it goes out from deliver itself, never queued.
            await trio.testing.wait_all_tasks_blocked()
            assert session.send_now is not None
            alone = OpsOut((_op(3),))
            session.deliver(alone)
            assert session.outbox.statistics().current_buffer_used == 0
            assert alone.wire == [text_frame(alone.message[0])]
            assert json.loads(await client.get_message())["version"] == 3
            session.close(1000, "done")


async def test_send_frame_after_close_is_refused() -> None:
    with trio.fail_after(10):
        async with _pair() as (server, client):
            assert await send_frame(server, text_frame('{"type":"pong","t":1}'))
            assert json.loads(await client.get_message()) == {"type": "pong", "t": 1}
            await client.aclose()
            with pytest.raises(Exception) as raised:
                for _ in range(100):  # the close reaches the server's reader
                    await send_frame(server, text_frame('{"type":"pong","t":2}'))
                    await trio.sleep(0.01)
            assert type(raised.value).__name__ == "ConnectionClosed"
