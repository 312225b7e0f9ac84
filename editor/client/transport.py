"""Opening and closing one WebSocket connection, owning its TCP stream.

``trio_websocket.open_websocket_url`` leaves the client's socket to the garbage
collector when the server closes first (its reader stops at EOF without closing the
stream), which warns as an unclosed socket. Here the stream is opened and closed by
us; trio-websocket only speaks WebSocket over it.
"""

from __future__ import annotations

import ssl
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import NoReturn

import trio
from trio_websocket import WebSocketConnection, wrap_client_stream
from wsproto.utilities import LocalProtocolError


def raise_unwrapped(group: BaseExceptionGroup[BaseException]) -> NoReturn:
    """Raise the one real exception of ``group`` (Cancelled aside), or the group itself.

    Nurseries wrap even a single exception in a group; callers of a context manager
    expect the exception their own code raised, unwrapped (trio-websocket does the same).
    """
    leaves: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        exc = stack.pop()
        if isinstance(exc, BaseExceptionGroup):
            stack.extend(exc.exceptions)
        else:
            leaves.append(exc)
    real = list({id(exc): exc for exc in leaves if not isinstance(exc, trio.Cancelled)}.values())
    chosen = real[0] if len(real) == 1 else (leaves[0] if not real and leaves else None)
    if chosen is None:
        raise group
    context = chosen.__context__
    try:
        raise chosen
    finally:
        chosen.__context__ = context  # not the group, which holds ``chosen`` itself


def split_ws_url(url: str) -> tuple[str, int, str, bool]:
    """``ws[s]://host[:port]/path?q`` -> host, port, resource, whether to use TLS."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"not a WebSocket URL: {url!r}")
    secure = parts.scheme == "wss"
    port = parts.port or (443 if secure else 80)
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.hostname, port, resource, secure


@asynccontextmanager
async def open_connection(
    url: str,
    *,
    connect_timeout_s: float,
    close_timeout_s: float,
    message_queue_size: int,
    max_message_chars: int,
    ssl_context: ssl.SSLContext | None = None,
) -> AsyncIterator[WebSocketConnection]:
    """Connect to ``url`` (TCP, TLS, WebSocket handshake) and close it all on exit.

    Raises ``OSError``, ``trio.TooSlowError`` or a trio-websocket ``HandshakeError``
    (``ConnectionRejected`` carries the HTTP status) when the connection fails.
    """
    host, port, resource, secure = split_ws_url(url)
    stream: trio.SocketStream | trio.SSLStream[trio.SocketStream]
    with trio.fail_after(connect_timeout_s):
        if secure:
            stream = await trio.open_ssl_over_tcp_stream(
                host,
                port,
                ssl_context=ssl_context or ssl.create_default_context(),
                https_compatible=True,
            )
        else:
            stream = await trio.open_tcp_stream(host, port)
    closing = False
    try:
        async with trio.open_nursery() as nursery:
            with trio.fail_after(connect_timeout_s):
                ws = await wrap_client_stream(
                    nursery,
                    stream,
                    host if port in (80, 443) else f"{host}:{port}",
                    resource,
                    message_queue_size=message_queue_size,
                    max_message_size=max_message_chars,
                )
            try:
                yield ws
            finally:
                closing = True
                with trio.move_on_after(close_timeout_s, shield=True):
                    await ws.aclose()
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        rest = group.split(LocalProtocolError)[1] if closing else group
        if rest is None:
            # trio-websocket answers a ping that arrives while we close with a pong, which
            # wsproto refuses (trio-websocket issue #184): nothing is lost, the socket closes.
            return
        raise_unwrapped(rest)
    finally:
        with trio.move_on_after(close_timeout_s, shield=True):
            await stream.aclose()
