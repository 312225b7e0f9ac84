"""Hostile input for chaos runs: one client that sends malformed frames, oversized messages
and bad ops (and a few bad HTTP requests), checking each gets its clear error (PROTOCOL.md
§3) — while other clients edit the same document. Nothing it sends may ever commit: its
inserts carry ``HOSTILE``, which the stored text must never hold."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import trio
from trio_websocket import ConnectionClosed, HandshakeError

from tests.support.api import Account
from tests.support.raw import RawClient, connect

MARK = "HOSTILE"
BAD_DELTAS: list[Any] = [
    [{"delete": 10**9}],  # past the end
    [{"insert": MARK, "bogus": 1}],  # unknown key
    [{"retain": 0}, {"insert": MARK}],  # zero retain
    [{"insert": {"a": 1, "b": 2}}],  # an embed with two keys
    [{"retain": 10**9}, {"insert": MARK}],  # past the end
]


async def _error(client: RawClient) -> dict[str, Any]:
    with trio.fail_after(5):
        return await client.recv_type("error")


async def _bad_ops(ws_url: str, doc_id: str, owner: Account) -> list[str]:
    """Bad ops on a live session: each refused as invalid_op, the session stays usable."""
    failures = []
    async with connect(ws_url, doc_id) as client:
        welcome = await client.hello(owner.access_token, "hostile")
        for seq, delta in enumerate(BAD_DELTAS, start=1):
            await client.send({"type": "op", "seq": seq, "version": welcome["head"],
                               "delta": delta})
            frame = await _error(client)
            if (frame.get("code"), frame.get("seq")) != ("invalid_op", seq):
                failures.append(f"bad op {delta!r}: {frame}")
        await client.send({"type": "ping", "t": "still-there"})
        with trio.fail_after(5):
            pong = await client.recv_type("pong")
        if pong.get("t") != "still-there":
            failures.append(f"ping after bad ops: {pong}")
    return failures


async def _closes_with(ws_url: str, doc_id: str, owner: Account, hello: bool,
                       message: str, code: int | None, what: str) -> list[str]:
    """Send ``message`` (after a hello or not): the server must close, with ``code`` unless
    that is None."""
    async with connect(ws_url, doc_id) as client:
        if hello:
            await client.hello(owner.access_token, "hostile")
        try:
            await client.send(message)
        except ConnectionClosed:
            pass
        with trio.fail_after(10):
            got, _ = await client.closed()
    return [] if code is None or got == code else [
        f"{what}: closed with {got}, expected {code}"]


async def _http(http_url: str, owner: Account) -> list[str]:
    failures = []
    async with httpx.AsyncClient(base_url=http_url, timeout=5) as http:
        for body, headers in ((b"{not json", {"Content-Type": "application/json"}),
                              (b"\xff\xfe\x00", {"Content-Type": "application/json"}),
                              (json.dumps({"title": MARK, "bogus": 1}).encode(),
                               {"Content-Type": "application/json"})):
            response = await http.post("/v1/documents", content=body,
                                       headers={**owner.headers, **headers})
            if response.status_code != 400 or "error" not in response.json():
                failures.append(f"POST /v1/documents {body!r}: {response.status_code}")
    return failures


async def hostile_round(ws_url: str, http_url: str, doc_id: str, owner: Account) -> list[str]:
    """One round of everything hostile; the checks that failed (empty: all as specified)."""
    checks: list[tuple[str, Callable[[], Awaitable[list[str]]]]] = [
        ("bad ops", lambda: _bad_ops(ws_url, doc_id, owner)),
        ("malformed frame", lambda: _closes_with(
            ws_url, doc_id, owner, True, "{not json", 4400, "malformed frame")),
        ("oversized message", lambda: _closes_with(ws_url, doc_id, owner, True, json.dumps(
            {"type": "op", "seq": 99, "version": 0, "delta": [{"insert": MARK * 150_000}]}),
            1009, "oversized message")),
        # Four times the limit: the server closes while the client is still sending, so the
        # client may see a reset rather than the 1009; it must be cut off, nothing more.
        ("giant message", lambda: _closes_with(ws_url, doc_id, owner, True, json.dumps(
            {"type": "op", "seq": 99, "version": 0, "delta": [{"insert": MARK * 600_000}]}),
            None, "giant message")),
        ("op before hello", lambda: _closes_with(ws_url, doc_id, owner, False, json.dumps(
            {"type": "op", "seq": 1, "version": 0, "delta": [{"insert": MARK}]}),
            4400, "op before hello")),
        ("bad token", lambda: _closes_with(ws_url, doc_id, owner, False, json.dumps(
            {"type": "hello", "token": "not-a-jwt", "client_id": "hostile", "version": None}),
            4401, "bad token")),
        ("bad HTTP bodies", lambda: _http(http_url, owner)),
    ]
    failures: list[str] = []
    for name, check in checks:
        try:
            failures += await check()
        except (ConnectionClosed, HandshakeError, trio.TooSlowError, httpx.HTTPError) as exc:
            failures.append(f"{name}: {type(exc).__name__}: {exc}")
    return failures
