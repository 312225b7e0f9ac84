"""A scripted WebSocket server for the client shell tests (test helper, not a mock).

Each accepted connection is handed to the test as a ``Peer`` that the test drives:
read the client's frames, send frames (single or batched), close with a code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, WebSocketRequest, serve_websocket


@dataclass
class Peer:
    ws: WebSocketConnection
    done: trio.Event = field(default_factory=trio.Event)

    async def recv(self) -> dict[str, Any]:
        frame = json.loads(await self.ws.get_message())
        assert isinstance(frame, dict), "clients send single objects"
        return frame

    async def recv_type(self, kind: str) -> dict[str, Any]:
        """The next frame of type ``kind``, skipping cursors and pings."""
        while True:
            frame = await self.recv()
            if frame["type"] == kind:
                return frame
            assert frame["type"] in ("cursor", "ping"), frame

    async def send(self, *frames: dict[str, Any]) -> None:
        """One frame as an object, several as one batched array."""
        await self.ws.send_message(json.dumps(frames[0] if len(frames) == 1 else list(frames)))

    async def close(self, code: int, reason: str = "") -> None:
        try:
            await self.ws.aclose(code, reason)
        finally:
            self.done.set()

    async def wait_closed_by_client(self) -> int | None:
        """Read until the client closes; returns its close code."""
        try:
            while True:
                await self.ws.get_message()
        except ConnectionClosed as exc:
            self.done.set()
            return exc.reason.code if exc.reason else None


class ScriptedServer:
    def __init__(self) -> None:
        self._send, self._receive = trio.open_memory_channel[Peer](10)
        self.accepted = 0
        self.port = 0
        self.reject_with: int | None = None

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def _handle(self, request: WebSocketRequest) -> None:
        assert request.path == "/v1/docs/d1/ws", request.path
        if self.reject_with is not None:
            self.accepted += 1
            await request.reject(self.reject_with, body=b"no such document")
            return
        ws = await request.accept()
        self.accepted += 1
        peer = Peer(ws)
        await self._send.send(peer)
        await peer.done.wait()

    async def next(self) -> Peer:
        return await self._receive.receive()


async def start_server(nursery: trio.Nursery) -> ScriptedServer:
    scripted = ScriptedServer()
    server = await nursery.start(serve_websocket, scripted._handle, "127.0.0.1", 0, None)
    scripted.port = server.port
    return scripted


def welcome(version: int = 0, head: int | None = None, snapshot: str | None = "ab\n",
            role: str = "editor", client_id: str = "me", peers: list[Any] | None = None
            ) -> dict[str, Any]:
    return {
        "type": "welcome", "doc_id": "d1", "version": version,
        "head": version if head is None else head,
        "snapshot": None if snapshot is None else [{"insert": snapshot}],
        "role": role, "user": {"id": "u1", "name": "Ann"}, "client_id": client_id,
        "peers": peers or [],
    }


def op(version: int, delta: list[dict[str, Any]], client_id: str = "bob", seq: int = 1
       ) -> dict[str, Any]:
    return {"type": "op", "version": version, "delta": delta, "client_id": client_id,
            "user_id": "u2", "seq": seq}
