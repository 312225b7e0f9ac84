"""A light benchmark writer: a raw WebSocket over a Trio socket, no SDK, no OT.

It inserts one character at index 0 (valid at every version, so it never needs the
content), bases each op on the newest version it has seen, and parses only the messages
that can hold its answer. The server does the same work as for an SDK client (it transforms,
commits and fans out every op); the client side costs a few microseconds per message, so
many writers fit on one core. Convergence is checked by the SDK observers, which apply
every op.
"""

from __future__ import annotations

import base64
import json
import os
import random
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import trio

OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x8, 0x9, 0xA


def _frame(payload: bytes, opcode: int = OP_TEXT) -> bytes:
    """A masked, final client frame (RFC 6455 §5.2)."""
    n = len(payload)
    if n < 126:
        header = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        header = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        header = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
    mask = os.urandom(4)
    if not n:
        return header + mask
    key = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")
    return header + mask + masked


class RawSocket:
    """Just enough WebSocket for a benchmark client: unfragmented server messages."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.buffer = bytearray()
        self._sending = trio.Lock()  # pongs (from the reader) and ops (from the writer)

    @classmethod
    async def connect(cls, ws_url: str, path: str) -> RawSocket:
        parts = urlsplit(ws_url)
        assert parts.hostname is not None and parts.port is not None
        stream = await trio.open_tcp_stream(parts.hostname, parts.port)
        key = base64.b64encode(os.urandom(16)).decode()
        await stream.send_all((
            f"GET {path} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        self = cls(stream)
        while b"\r\n\r\n" not in self.buffer:
            data = await stream.receive_some(65536)
            if not data:
                raise ConnectionError("closed during the handshake")
            self.buffer += data
        end = self.buffer.index(b"\r\n\r\n") + 4
        status = bytes(self.buffer[:end]).split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            raise ConnectionError(f"handshake refused: {status!r}")
        del self.buffer[:end]
        return self

    async def send(self, text: str, opcode: int = OP_TEXT) -> None:
        await self.send_bytes(text.encode(), opcode)

    async def send_bytes(self, payload: bytes, opcode: int) -> None:
        async with self._sending:
            await self.stream.send_all(_frame(payload, opcode))

    async def _fill(self, size: int) -> None:
        while len(self.buffer) < size:
            data = await self.stream.receive_some(262144)
            if not data:
                raise ConnectionError("the server closed the connection")
            self.buffer += data

    async def messages(self) -> AsyncIterator[str]:
        """Text messages, answering pings; ends at a close frame."""
        buffer = self.buffer
        while True:
            await self._fill(2)
            opcode, length = buffer[0] & 0x0F, buffer[1] & 0x7F
            start = 2
            if length == 126:
                await self._fill(4)
                length, start = int.from_bytes(buffer[2:4], "big"), 4
            elif length == 127:
                await self._fill(10)
                length, start = int.from_bytes(buffer[2:10], "big"), 10
            await self._fill(start + length)
            payload = bytes(buffer[start:start + length])
            del buffer[:start + length]
            if opcode == OP_TEXT:
                yield payload.decode()
            elif opcode == OP_PING:
                await self.send_bytes(payload, OP_PONG)
            elif opcode == OP_CLOSE:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                raise ConnectionError(f"closed by the server with {code}")

    async def aclose(self) -> None:
        try:
            await self.send_bytes((1000).to_bytes(2, "big"), OP_CLOSE)
        except trio.BrokenResourceError:
            pass
        await self.stream.aclose()


def _last_version(message: str) -> int | None:
    """The version after the last frame of a message of op/ack/cursor frames."""
    at = message.rfind('"version":')
    if at < 0:
        return None
    end = at + 10
    while end < len(message) and message[end].isdigit():
        end += 1
    return int(message[at + 10:end])


async def light_client(spec: dict[str, Any], session: dict[str, Any], report: dict[str, Any],
                       clock: dict[str, float], start_gate: trio.Event,
                       connected: list[int]) -> None:
    """One writer: connect, hello, then edits at the spec's rate (or on ack) until the deadline."""
    ws_url = session.get("ws_url", spec["ws_url"])
    ws = await RawSocket.connect(ws_url, f"/v1/docs/{session['doc_id']}/ws")
    client_id = session["client_id"]
    await ws.send(json.dumps({"type": "hello", "token": session["token"],
                              "client_id": client_id, "version": None}))
    messages = ws.messages()
    welcome = json.loads(await messages.__anext__())
    if welcome.get("type") != "welcome":
        raise ConnectionError(f"no welcome: {welcome}")
    base = welcome["version"]
    connected[0] += 1
    acked = trio.Event()
    waiting_for = [0]

    async def read() -> None:
        nonlocal base, acked
        async for message in messages:
            if '"type":"ack"' in message or '"type":"error"' in message:
                frames = json.loads(message)
                for frame in frames if isinstance(frames, list) else [frames]:
                    kind = frame["type"]
                    if kind == "ack" and frame["seq"] == waiting_for[0]:
                        acked.set()
                    elif kind == "error":
                        report["errors"].append(f"{client_id}: {frame}")
                        acked.set()
            last = message.rfind('"type":"')
            kind = message[last + 8:last + 11]
            if kind in ("op\"", "ack"):  # the client is at the version after it
                version = _last_version(message)
                if version is not None:
                    base = max(base, version + 1)
            elif kind == "cur":  # a cursor is tagged with the head it was sent at
                version = _last_version(message)
                if version is not None:
                    base = max(base, version)

    # Spread the first edits over one period (client ids differ only in their last digits,
    # so hash them): rate-driven writers that fire together measure bursts, not the rate.
    rng_offset = random.Random(client_id).random()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(read)
        await start_gate.wait()
        rate = spec["rate_per_s"]
        await trio.sleep(rng_offset / rate if rate else 0)
        seq = 0
        next_at = time.monotonic()
        deadline = clock["deadline"]
        while time.monotonic() < deadline:
            acked = trio.Event()
            seq += 1
            waiting_for[0] = seq
            sent = time.monotonic()
            report["sends"][f"{client_id}:{seq}"] = sent
            await ws.send(json.dumps({"type": "op", "seq": seq, "version": base,
                                      "delta": [{"insert": "x"}]}))
            with trio.move_on_after(max(0.0, deadline + 5 - time.monotonic())):
                await acked.wait()
            report["acks"].append(time.monotonic() - sent)
            if rate:
                next_at += 1 / rate
                await trio.sleep(max(0.0, next_at - time.monotonic()))
        nursery.cancel_scope.cancel()
    report["light"] = report.get("light", 0) + 1
    await ws.aclose()
