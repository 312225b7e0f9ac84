"""A thinner send path for server messages on a trio-websocket connection.

``WebSocketConnection.send_message`` costs, per message: wsproto building the frame (UTF-8
encoding and header), an ``await`` on the connection's stream lock and one on the socket's
send, each a full trip through Trio's scheduler, then the ``send`` system call. Fan-out sends
the same message to every session of a document, so most of that is repeated work:

- ``text_frame`` builds the complete WebSocket frame once; server frames are not masked
  (RFC 6455 §5.1), so the same bytes serve every session.
- ``send_frame`` writes those bytes with one non-blocking ``send`` when the stream lock is
  free and the socket takes them all (the common case), without yielding. Otherwise (lock
  held by a pong or a close, a full socket buffer) it falls back to awaiting, holding the
  lock, so frames never interleave.

What trio-websocket guarantees still holds: nothing is sent once the connection is closing
(its close reason is set or wsproto is past OPEN), frames are written whole under the same
lock its own pings, pongs and close frames take, and a broken socket ends the connection as
``ConnectionClosed`` after the same clean-up. Only complete, unfragmented text messages go
this way and no extension is negotiated, so wsproto's own state is not affected.
"""

from __future__ import annotations

from typing import NoReturn

import trio
from trio_websocket import ConnectionClosed, WebSocketConnection
from wsproto.connection import ConnectionState

_FIN_TEXT = 0x81


def text_frame(message: str) -> bytes:
    """A final, unmasked text frame carrying ``message`` (what a server sends)."""
    payload = message.encode()
    n = len(payload)
    if n < 126:
        header = bytes((_FIN_TEXT, n))
    elif n < 65536:
        header = bytes((_FIN_TEXT, 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((_FIN_TEXT, 127)) + n.to_bytes(8, "big")
    return header + payload


def _raise_if_closing(ws: WebSocketConnection) -> None:
    if ws._close_reason is not None:
        raise ConnectionClosed(ws._close_reason)
    if ws._wsproto.state != ConnectionState.OPEN:
        # A close frame was received or sent: trio-websocket's own send refuses too (wsproto
        # raises LocalProtocolError); its reader sets the close reason shortly.
        raise ConnectionClosed(ws._close_reason)


async def _broken(ws: WebSocketConnection) -> NoReturn:
    await ws._abort_web_socket()
    assert ws._close_reason is not None
    raise ConnectionClosed(ws._close_reason)


def send_now(ws: WebSocketConnection, frame: bytes) -> int:
    """Write as much of ``frame`` as the socket takes at once, without waiting: the number of
    bytes written, or 0 when nothing can go now (the stream lock is held, the connection is
    closing, TLS, a full socket buffer, an error the awaited path will report).

    Synchronous: nothing else runs until it returns, so the lock need not be taken — only
    found free. A partial write leaves the rest of the frame to be sent before anything else.
    """
    stream = ws._stream
    if (ws._close_reason is not None or ws._wsproto.state != ConnectionState.OPEN
            or not isinstance(stream, trio.SocketStream) or ws._stream_lock.locked()):
        return 0
    try:
        return int(stream.socket._sock.send(frame))  # type: ignore[attr-defined]
    except OSError:  # BlockingIOError included
        return 0


async def send_rest(ws: WebSocketConnection, rest: bytes | memoryview) -> None:
    """Send the rest of a frame that ``send_now`` wrote in part (nothing may go before it)."""
    await _send_locked(ws, rest, check_closing=False)


async def send_frame(ws: WebSocketConnection, frame: bytes) -> bool:
    """Send a frame made by ``text_frame``; whether it went out without yielding.

    Raises ``ConnectionClosed`` like ``send_message``. A cancellation while awaiting can cut
    the frame off part-way: the caller must then drop the TCP connection, not close politely.
    """
    _raise_if_closing(ws)
    stream = ws._stream
    if not isinstance(stream, trio.SocketStream):  # TLS: no socket of our own to write to
        await _send_locked(ws, frame)
        return False
    lock = ws._stream_lock
    try:
        lock.acquire_nowait()
    except trio.WouldBlock:
        await _send_locked(ws, frame)
        return False
    try:
        try:
            # The standard socket under Trio's: non-blocking (Trio sets O_NONBLOCK).
            sent = stream.socket._sock.send(frame)  # type: ignore[attr-defined]
        except BlockingIOError:
            sent = 0
        except OSError:
            await _broken(ws)
        if sent == len(frame):
            return True
        try:
            await stream.send_all(memoryview(frame)[sent:])
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            await _broken(ws)
        return False
    finally:
        lock.release()


async def _send_locked(ws: WebSocketConnection, frame: bytes | memoryview, *,
                       check_closing: bool = True) -> None:
    async with ws._stream_lock:
        if check_closing:
            _raise_if_closing(ws)  # the close may have happened while waiting for the lock
        try:
            await ws._stream.send_all(frame)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            await _broken(ws)
