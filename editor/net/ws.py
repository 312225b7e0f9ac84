"""The collaboration listener: one trio-websocket session per connection (PROTOCOL.md §2–§3).

Each session is its handler task, which reads, and a writer fed by the session's bounded
queue (with trio-websocket's own reader: three tasks). One task pings every session every
30 s. Decisions live in the engine, frames in ``wire``; this is the shell.

The writer sends everything queued when it wakes as one message (a JSON array of frames,
PROTOCOL.md §2 "Batching"), and a batch a session sends alone goes out as the document's
shared, ready-made WebSocket frame through ``wsconn.send_frame``: per session and tick, one
``send`` system call and no encoding.
"""

from __future__ import annotations

import re
from typing import Any, NoReturn

import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, WebSocketRequest, serve_websocket

from editor import logs, metrics
from editor.auth.tokens import InvalidToken, TokenIssuer
from editor.bus import RateLimiter
from editor.config import Config
from editor.engine.document import Submission
from editor.engine.engine import Engine, OpenDocument
from editor.engine.outgoing import CursorOut, ErrorOut, LeaveOut, OpsOut, Outgoing, PongOut
from editor.engine.sequencer import Proposal
from editor.engine.session import Session
from editor.errors import BadRequest, CloseCode, close_code_for
from editor.guards.origins import session_origin_allowed
from editor.net.wire import (
    CursorFrame,
    Hello,
    OpFrame,
    Ping,
    encode,
    encode_many,
    encode_outgoing,
    encoded_frames,
    error,
    op_frame,
    pack,
    parse,
    welcome,
)
from editor.net.wsconn import send_frame, send_now, send_rest, text_frame
from editor.ot.validate import holds_lone_surrogate
from editor.store.protocols import Accounts, Documents

log = logs.get(__name__)
DOC_PATH = re.compile(r"/v1/docs/([A-Za-z0-9_-]{1,64})/ws")
CATCH_UP_FRAMES_PER_MESSAGE = 100
# The writer stops adding queued items to a message past this many characters of JSON (one
# item alone may be larger): clients accept messages of a few MiB (the SDK 8 MiB).
DRAINED_MESSAGE_CHARS = 256 * 1024
HEARTBEAT_INTERVAL_S = 30.0
HEARTBEAT_SLICE_S = 0.5
# An op based k versions behind the head is transformed through k ops (read from the store
# when memory no longer holds them): it costs 1 + k / REBASE_OPS_PER_TOKEN of its client's
# rate-limit tokens, so that old bases cannot multiply what a flood costs the server.
REBASE_OPS_PER_TOKEN = 100


def op_cost(head: int, version: int, burst: int) -> float:
    """The rate-limit tokens an op based on ``version`` costs (at most the whole burst)."""
    return min(float(burst), 1.0 + max(0, head - version) / REBASE_OPS_PER_TOKEN)


class _Fatal(Exception):
    """End the session: send ``error`` (if a code is given) then close with ``close_code``."""

    def __init__(self, close_code: int, code: str | None, message: str) -> None:
        super().__init__(message)
        self.close_code, self.code, self.message = close_code, code, message


def _frame(items: list[Outgoing]) -> bytes:
    """The WebSocket frame of one message carrying ``items``; a shared item sent alone (the
    common case: one committed batch per tick) reuses the frame built for the first session."""
    if len(items) == 1:
        item = items[0]
        if isinstance(item, OpsOut | CursorOut | LeaveOut):
            if not item.wire:
                item.wire.append(text_frame(encode_outgoing(item)))
            return item.wire[0]
    return text_frame(encode_many(items))


def _sent(session: Session, items: list[Outgoing]) -> None:
    """``items`` went out: count their answers; a failed commit closes the session."""
    for item in items:
        session.sent(item)
        if isinstance(item, ErrorOut) and item.seq is not None:
            close_code = close_code_for(item.code)
            if close_code is not None:  # the commit failed: reconnect and resend
                session.close(close_code, item.message)


def _chars(item: Outgoing) -> int:
    return sum(len(frame) for frame in encoded_frames(item))


class _Writer:
    """Sends a session's queue; knows whether it was stopped inside a message."""

    def __init__(self, ws: WebSocketConnection, session: Session) -> None:
        self.ws, self.session = ws, session
        self.mid_message = False
        self._carry: Outgoing | None = None  # taken from the queue, goes first next time
        self._rest: memoryview | None = None  # of the frame of the first queued item

    def _send_now(self, item: Outgoing) -> bool:
        """``Session.send_now`` while the writer is idle: one non-blocking ``send`` from the
        deliverer's task, no wake-up of this one. A frame the socket takes in part is
        finished by the writer before anything else (the item is then queued first)."""
        session = self.session
        session.send_now = None  # one at a time: whatever follows queues behind this
        frame = _frame([item])
        written = send_now(self.ws, frame)
        if written == len(frame):
            _sent(session, [item])
            session.send_now = self._send_now
            return True
        if written:
            self._rest = memoryview(frame)[written:]
            self.mid_message = True
        return False

    async def _receive(self, session: Session) -> Outgoing:
        """The next queued item; while there is none, deliveries go out directly."""
        try:
            return session.outbox.receive_nowait()
        except trio.WouldBlock:
            pass
        session.send_now = self._send_now
        try:
            return await session.outbox.receive()
        finally:
            session.send_now = None

    async def _take(self, session: Session) -> list[Outgoing]:
        """Wait for the next item, then take everything queued behind it (up to
        ``DRAINED_MESSAGE_CHARS``); empty once the queue is closed and drained."""
        if self._carry is not None:
            first, self._carry = self._carry, None
        else:
            try:
                first = await self._receive(session)
            except trio.EndOfChannel:
                return []
        items = [first]
        chars = 0
        while True:
            try:
                item = session.outbox.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel):
                return items
            if not chars:
                chars = _chars(first)
            chars += _chars(item)
            if chars > DRAINED_MESSAGE_CHARS:
                self._carry = item
                return items
            items.append(item)

    async def run(self, ws: WebSocketConnection, session: Session) -> None:
        """Send until the queue is closed (and drained, if the session asks), then the
        session's last error."""
        try:
            while items := await self._take(session):
                if session.close_code is not None and not session.drain_queue:
                    break  # a frame begun by send_now stays cut off: mid_message is set
                if self._rest is not None:  # the first item went out in part
                    await send_rest(ws, self._rest)
                    self._rest, self.mid_message = None, False
                    _sent(session, items[:1])
                    items = items[1:]
                    if not items:
                        continue
                await self._send(ws, _frame(items))
                _sent(session, items)
            if session.last_error is not None and self._rest is None:
                await self._send(ws, text_frame(encode_outgoing(session.last_error)))
        except ConnectionClosed:
            session.close(CloseCode.GOING_AWAY, "the connection was lost")

    async def _send(self, ws: WebSocketConnection, frame: bytes) -> None:
        self.mid_message = True
        await send_frame(ws, frame)
        self.mid_message = False


def _host_header(request: WebSocketRequest) -> str:
    """The handshake's ``Host``: wsproto keeps it on the event, apart from the other headers."""
    return str(request._event.host)


class CollabServer:
    """Accepts WebSocket sessions and ties them to the engine's documents."""

    def __init__(self, cfg: Config, engine: Engine, accounts: Accounts, documents: Documents,
                 tokens: TokenIssuer, limiter: RateLimiter) -> None:
        self.cfg = cfg
        self.limiter = limiter
        self.engine = engine
        self.accounts = accounts
        self.documents = documents
        self.tokens = tokens
        self.sessions: set[Session] = set()
        self._sockets: dict[Session, WebSocketConnection] = {}
        self._pinging: set[Session] = set()  # a ping is out, its pong not back yet
        self.accepting = True
        self.connections = 0
        self._all_closed = trio.Event()

    async def serve(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED
                    ) -> NoReturn:
        """Listen on the WS port; report the bound port once listening."""
        async with trio.open_nursery() as nursery:
            server = await nursery.start(
                lambda *, task_status: serve_websocket(
                    self._handle, self.cfg.host, self.cfg.ws_port, None,
                    max_message_size=self.cfg.max_message_bytes,
                    message_queue_size=4, connect_timeout=10, disconnect_timeout=5,
                    task_status=task_status))
            nursery.start_soon(self._heartbeats, nursery)
            task_status.started(server.port)
            await trio.sleep_forever()
        raise AssertionError("unreachable")

    async def drain(self) -> None:
        """Refuse new sessions, close open ones with 1001, and wait until they are gone."""
        self.accepting = False
        for session in list(self.sessions):
            session.close(CloseCode.GOING_AWAY, "the server is shutting down")
        if self.connections:
            await self._all_closed.wait()

    async def _handle(self, request: WebSocketRequest) -> None:
        match = DOC_PATH.fullmatch(request.path.split("?", 1)[0])
        if not match:
            await request.reject(404, body=b"no such WebSocket endpoint\n")
            return
        if not self.accepting:
            await request.reject(503, body=b"the server is shutting down\n")
            return
        headers = dict(request.headers)
        origin = headers.get(b"origin")
        if not session_origin_allowed(
            None if origin is None else origin.decode("latin-1"),
            _host_header(request), self.cfg.public_url,
            self.cfg.allowed_origins,
        ):
            await request.reject(403, body=b"origin not allowed; see EDITOR_ALLOWED_ORIGINS\n")
            return
        ws = await request.accept()
        self.connections += 1
        try:
            await self._session(ws, match.group(1))
        except* ConnectionClosed:
            pass
        except* _Fatal as group:
            fatal = group.exceptions[0]
            assert isinstance(fatal, _Fatal)
            await self._close(ws, fatal.close_code, fatal.message, fatal.code)
        except* Exception:
            log.exception("session failed", extra={"doc_id": match.group(1)})
            await self._close(ws, CloseCode.INTERNAL, "internal error", "internal")
        finally:
            self.connections -= 1
            if not self.connections and not self.accepting:
                self._all_closed.set()

    async def _close(self, ws: WebSocketConnection, close_code: int, message: str,
                     code: str | None = None) -> None:
        metrics.WS_CLOSES.labels(str(close_code)).inc()
        with trio.move_on_after(2):
            try:
                if code is not None:
                    await ws.send_message(error(code, message))
                await ws.aclose(close_code, message[:120])
            except ConnectionClosed:
                pass

    async def _hello(self, ws: WebSocketConnection) -> Hello:
        with trio.move_on_after(self.cfg.hello_timeout_s):
            message = await ws.get_message()
            try:
                frame = parse(message)
            except BadRequest as exc:
                raise _Fatal(CloseCode.BAD_REQUEST, "bad_request", exc.message) from None
            if not isinstance(frame, Hello):
                raise _Fatal(CloseCode.BAD_REQUEST, "bad_request",
                             "'hello' must be the first frame")
            return frame
        raise _Fatal(CloseCode.HELLO_TIMEOUT, None, "no hello within the time limit")

    async def _session(self, ws: WebSocketConnection, doc_id: str) -> None:
        hello = await self._hello(ws)
        try:
            claims = self.tokens.verify(hello.token)
        except InvalidToken as exc:
            raise _Fatal(CloseCode.UNAUTHORIZED, "unauthorized", f"bad token: {exc}") from None
        user = await self.accounts.user_by_id(claims.user_id)
        if user is None:
            raise _Fatal(CloseCode.UNAUTHORIZED, "unauthorized", "the user no longer exists")
        role = await self.documents.role_of(doc_id, user.id)
        if role is None:
            raise _Fatal(CloseCode.NOT_FOUND, "not_found", "no such document")
        document = await self.engine.open(doc_id)
        runtime = document.runtime
        if hello.version is not None and hello.version > runtime.head:
            raise _Fatal(CloseCode.BAD_VERSION, "bad_version",
                         f"version {hello.version} is above the head {runtime.head}")
        session = Session(doc_id, user.id, user.name, hello.client_id, role,
                          self.cfg.session_queue_messages)
        for other in list(runtime.sessions):
            if (other.user_id, other.client_id) == (user.id, hello.client_id):
                other.close(CloseCode.NORMAL, "replaced by a newer connection")
        # Joining, reading the head, the snapshot and the peers happen without a checkpoint,
        # so the session's queue holds exactly the frames from this head on.
        head = runtime.join(session)
        snapshot = runtime.content.to_delta() if hello.version is None else None
        peers = runtime.peers(exclude=session)
        self.sessions.add(session)
        self._sockets[session] = ws
        try:
            await self._run_session(ws, document, session, hello, head, snapshot, peers)
        finally:
            self.sessions.discard(session)
            del self._sockets[session]
            runtime.leave(session)

    async def _run_session(self, ws: WebSocketConnection, document: OpenDocument,
                           session: Session, hello: Hello, head: int,
                           snapshot: list[dict[str, Any]] | None,
                           peers: list[CursorOut]) -> None:
        runtime = document.runtime
        version = head if hello.version is None else hello.version
        await ws.send_message(welcome(
            runtime.doc_id, version, head, snapshot, session.role, session.user,
            session.client_id, peers if version == head else []))
        if version < head:
            ops = await runtime.ops_since(self.engine.oplog, version)
            frames = [encode(op_frame(op)) for op in ops if op.version < head]
            frames += [encode_outgoing(peer) for peer in peers]
            for start in range(0, len(frames), CATCH_UP_FRAMES_PER_MESSAGE):
                await ws.send_message(pack(frames[start:start + CATCH_UP_FRAMES_PER_MESSAGE]))
        writer = _Writer(ws, session)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(writer.run, ws, session)
            # This task reads until the session closes, from here (_read returns) or from
            # anywhere else (the engine, the writer, the heartbeat: the scope is cancelled).
            with trio.CancelScope() as reading:
                session.on_close = reading.cancel
                if session.close_code is None:
                    await self._read(ws, document, session)
            # The writer finishes its message and drains the closed queue if asked;
            # a stuck client gets 2 s at most.
            nursery.cancel_scope.deadline = trio.current_time() + 2
        assert session.close_code is not None
        metrics.WS_CLOSES.labels(str(session.close_code)).inc()
        if writer.mid_message:
            # Cut off inside a message: a close frame would land in the middle of it and
            # read as garbage (1007), so the TCP connection goes instead (1006: resume).
            await ws._close_stream()
            return
        with trio.move_on_after(2):
            try:
                await ws.aclose(session.close_code, session.close_reason[:120])
            except ConnectionClosed:
                pass

    async def _heartbeats(self, nursery: trio.Nursery) -> NoReturn:
        """Every ``HEARTBEAT_INTERVAL_S``, ping each session whose last ping was answered.

        One task for all sessions instead of one idle task each; a ping's task lives from
        the ping to its pong (or ``ping_timeout_s``, then the session closes with 1001).
        """
        # Spread over the interval, a slice every HEARTBEAT_SLICE_S: 10,000 pings at one
        # instant would stall every session's traffic behind them.
        slices = round(HEARTBEAT_INTERVAL_S / HEARTBEAT_SLICE_S)
        while True:
            sessions = list(self._sockets.items())
            per_slice = -(-len(sessions) // slices)  # ceiling
            for start in range(0, slices * max(1, per_slice), max(1, per_slice)):
                await trio.sleep(HEARTBEAT_SLICE_S)
                for session, ws in sessions[start:start + per_slice]:
                    if (session in self._sockets and session not in self._pinging
                            and session.close_code is None):
                        self._pinging.add(session)
                        nursery.start_soon(self._ping, ws, session)

    async def _ping(self, ws: WebSocketConnection, session: Session) -> None:
        try:
            with trio.move_on_after(self.cfg.ping_timeout_s) as scope:
                try:
                    await ws.ping()
                except ConnectionClosed:
                    return
            if scope.cancelled_caught:
                session.close(CloseCode.GOING_AWAY, "no pong from the client")
        finally:
            self._pinging.discard(session)

    async def _read(self, ws: WebSocketConnection, document: OpenDocument,
                    session: Session) -> None:
        runtime, committer = document.runtime, document.committer
        throttled_in_a_row = 0
        try:
            while True:
                message = await ws.get_message()
                try:
                    frame = parse(message)
                except BadRequest as exc:
                    session.close(CloseCode.BAD_REQUEST, exc.message,
                                  error=ErrorOut("bad_request", exc.message))
                    return
                if isinstance(frame, OpFrame):
                    cost = op_cost(runtime.head, frame.version, self.cfg.ops_burst)
                    throttled_in_a_row = await self._throttle(session, throttled_in_a_row, cost)
                    if throttled_in_a_row > 2 * self.cfg.ops_burst:
                        session.close(CloseCode.RATE_LIMITED, "rate limited",
                                      error=ErrorOut("rate_limited", "too many ops; slow down"))
                        return
                    # A lone surrogate in the delta (a JSON escape like \ud800) is refused
                    # by the OT core's validation: invalid_op, the seq counts as answered.
                    proposal = Proposal(session.user_id, session.client_id, frame.seq,
                                        frame.version, frame.delta, session.can_edit)
                    if not session.op_received():
                        return  # a flood: closed with rate_limited
                    await committer.submit(Submission(proposal, session))
                elif isinstance(frame, CursorFrame):
                    if frame.version > runtime.head:
                        session.deliver(ErrorOut("bad_version", f"cursor version {frame.version}"
                                                 f" is above the head {runtime.head}"))
                        continue
                    runtime.set_cursor(session, frame.version, frame.index, frame.length)
                elif isinstance(frame, Ping):
                    if holds_lone_surrogate(frame.t):
                        message = "'t' holds a lone surrogate (a JSON escape like \\ud800)"
                        session.close(CloseCode.BAD_REQUEST, message,
                                      error=ErrorOut("bad_request", message))
                        return
                    session.deliver(PongOut(frame.t))
                else:
                    session.close(CloseCode.BAD_REQUEST, "duplicate hello",
                                  error=ErrorOut("bad_request", "'hello' was already sent"))
                    return
        except ConnectionClosed as exc:
            reason = exc.reason
            session.close(reason.code if reason else CloseCode.GOING_AWAY, "closed by the client")

    async def _throttle(self, session: Session, throttled_in_a_row: int, cost: float) -> int:
        """Back-pressure: read slower while the client's bucket lacks ``cost`` tokens (the
        op's share of the server's work, ``REBASE_OPS_PER_TOKEN``). How many ops had to
        wait, less those that did not since; the caller refuses a client that keeps flooding
        past that.

        An op that finds a token only takes one off the count instead of resetting it: a
        client held at the limit still finds one now and then (the refill runs while the op is
        processed, a sleep overshoots), which used to reset the count, so a flood at the limit
        was never refused. A client under its rate finds tokens every time and drains the
        count as fast as a flood fills it.
        """
        key = f"ops:{session.user_id}:{session.client_id}"
        rate, burst = self.cfg.ops_per_second_limit, self.cfg.ops_burst
        wait_s = await self.limiter.take(key, rate, burst, cost)
        if wait_s == 0:
            return max(0, throttled_in_a_row - 1)
        await trio.sleep(wait_s)
        await self.limiter.take(key, rate, burst, cost)  # the tokens that refilled meanwhile
        return throttled_in_a_row + 1
