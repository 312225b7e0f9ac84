"""Closing a connection while the server pings: trio-websocket issue #184 must not leak."""

from __future__ import annotations

import trio
import trio.lowlevel
from trio_websocket import ConnectionClosed, WebSocketRequest, serve_websocket

from editor.client.transport import open_connection


async def pinging_handler(request: WebSocketRequest) -> None:
    ws = await request.accept()
    try:
        while True:
            with trio.move_on_after(0.5):  # a ping whose pong never comes must not block
                await ws.ping()
    except ConnectionClosed:
        pass


async def test_closing_while_pings_arrive_is_clean(nursery: trio.Nursery) -> None:
    server = await nursery.start(serve_websocket, pinging_handler, "127.0.0.1", 0, None)
    for _ in range(5):  # without the fix every close here raised LocalProtocolError
        with trio.fail_after(5):
            async with open_connection(
                f"ws://127.0.0.1:{server.port}/", connect_timeout_s=5, close_timeout_s=0.2,
                message_queue_size=10, max_message_chars=2**20,
            ):
                await trio.lowlevel.checkpoint()
