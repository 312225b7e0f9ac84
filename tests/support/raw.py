"""A raw protocol client for tests: JSON frames in and out, batches flattened."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url


class RawClient:
    """One WebSocket connection speaking the protocol frame by frame."""

    def __init__(self, ws: WebSocketConnection) -> None:
        self.ws = ws
        self._pending: deque[dict[str, Any]] = deque()

    async def send(self, frame: Any) -> None:
        """Send a frame (a dict is JSON-encoded; a str is sent as is)."""
        await self.ws.send_message(frame if isinstance(frame, str) else json.dumps(frame))

    async def recv(self) -> dict[str, Any]:
        """The next frame, unpacking server batches."""
        while not self._pending:
            message = json.loads(await self.ws.get_message())
            self._pending.extend(message if isinstance(message, list) else [message])
        return self._pending.popleft()

    async def recv_type(self, *types: str) -> dict[str, Any]:
        """The next frame of one of ``types``, skipping others (cursor, leave…)."""
        while True:
            frame = await self.recv()
            if frame["type"] in types:
                return frame

    async def hello(self, token: str, client_id: str = "c1",
                    version: int | None = None) -> dict[str, Any]:
        """Send hello and return the welcome."""
        await self.send({"type": "hello", "token": token, "client_id": client_id,
                         "version": version})
        frame = await self.recv()
        assert frame["type"] == "welcome", frame
        return frame

    async def closed(self) -> tuple[int | None, list[dict[str, Any]]]:
        """Read until the server closes; the close code and the frames seen on the way."""
        frames: list[dict[str, Any]] = list(self._pending)
        self._pending.clear()
        try:
            while True:
                message = json.loads(await self.ws.get_message())
                frames.extend(message if isinstance(message, list) else [message])
        except ConnectionClosed as exc:
            return (exc.reason.code if exc.reason else None), frames


@asynccontextmanager
async def connect(ws_url: str, doc_id: str, **kwargs: Any) -> AsyncIterator[RawClient]:
    """Open a raw session on a document (no hello sent yet)."""
    async with open_websocket_url(f"{ws_url}/v1/docs/{doc_id}/ws", **kwargs) as ws:
        yield RawClient(ws)
