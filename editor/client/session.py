"""The Trio shell around ``SessionMachine``: connect, converse, reconnect.

One connection is a small nursery: the reader (in the nursery body, turning messages
into machine calls), a writer woken when there is something to send, and a heartbeat.
Memory is bounded by trio-websocket's queue (``message_queue_size`` ×
``max_message_chars``) plus the events queue; nothing else queues, because what to send
is derived from the machine's state (one pending op, one selection) rather than queued.
"""

from __future__ import annotations

import random
import re
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import NoReturn

import httpx
import trio
from trio_websocket import ConnectionClosed, ConnectionRejected, HandshakeError, WebSocketConnection

from editor.client.backoff import backoff_delay_s
from editor.client.document import Document
from editor.client.errors import (
    AccessRevoked,
    ConnectionLost,
    DocumentNotFound,
    ProtocolError,
    SessionEnded,
    Unauthorized,
)
from editor.client.events import ConnectionState
from editor.client.machine import Decision, Fatal, Reload, Resync, SessionMachine, classify_close
from editor.client.options import ClientOptions, TokenSource
from editor.client.protocol import (
    ErrorFrame,
    Ping,
    PongFrame,
    ServerFrame,
    UnknownFrame,
    Welcome,
    decode_message,
    encode_frame,
)
from editor.client.transport import open_connection, raise_unwrapped

CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_REJECTED: dict[int, type[SessionEnded]] = {
    401: Unauthorized,
    403: AccessRevoked,
    404: DocumentNotFound,
}


class _Unavailable(Exception):
    """The collaboration listener could not be located or reached; try again later."""


class _Connector:
    """Runs connections for one document until it is closed or the session ends."""

    def __init__(
        self,
        doc: Document,
        machine: SessionMachine,
        doc_id: str,
        *,
        base_url: str | None,
        ws_url: str | None,
        token: TokenSource,
        reconnect: bool,
        options: ClientOptions,
        http: httpx.AsyncClient | None,
        rng: random.Random,
    ) -> None:
        self._doc = doc
        self._machine = machine
        self._doc_id = doc_id
        self._base_url = base_url.rstrip("/") if base_url else None
        self._ws_url = ws_url.rstrip("/") if ws_url else None
        self._token = token
        self._reconnect = reconnect
        self._options = options
        self._http = http
        self._rng = rng
        self._close_requested = trio.Event()
        self._stopped = trio.Event()
        self._ping_t = 0
        self._ping_sent_at = 0.0
        self._pong = trio.Event()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect, and reconnect as the protocol says; ready after the first ``welcome``."""
        try:
            await self._run(task_status)
        finally:
            self._stopped.set()

    async def _run(self, task_status: trio.TaskStatus[None]) -> None:
        started = False
        failures = 0
        reloaded = False
        while not self._close_requested.is_set():
            welcomed_at: float | None = None

            def on_welcome() -> None:
                nonlocal started, welcomed_at
                welcomed_at = trio.current_time()
                if not started:
                    started = True
                    task_status.started()

            decision = await self._connect_once(on_welcome)
            if self._close_requested.is_set():
                return
            if isinstance(decision, Fatal):
                self._fail(decision.error)
            if isinstance(decision, Reload):
                self._machine.request_reload(decision.reason)
            elif not self._reconnect:
                self._fail(ConnectionLost(decision.reason))
            self._doc._set_state(ConnectionState.RECONNECTING)
            if welcomed_at is not None:
                reloaded = False
                # Only a connection that lasted resets the backoff, so a server that
                # welcomes and then drops every session is not hammered every second.
                if trio.current_time() - welcomed_at >= self._options.backoff_reset_after_s:
                    failures = 0
            if isinstance(decision, Reload) and not reloaded:
                reloaded = True  # one immediate reload; a second in a row backs off
                continue
            o = self._options
            delay_s = backoff_delay_s(
                failures,
                initial_s=o.backoff_initial_s,
                max_s=o.backoff_max_s,
                jitter=o.backoff_jitter,
                rng=self._rng,
            )
            with trio.move_on_after(delay_s):
                await self._close_requested.wait()
            failures += 1

    def _closed(self, exc: ConnectionClosed) -> Decision:
        reason = exc.reason
        code, text = (reason.code, reason.reason) if reason is not None else (None, None)
        return classify_close(code, text, self._machine.last_error)

    def _fail(self, error: SessionEnded) -> NoReturn:
        self._doc._end(error)
        raise error

    async def close(self) -> None:
        """Close the connection normally (from the connection's own task) and stop."""
        self._close_requested.set()
        await self._stopped.wait()

    # --- one connection -------------------------------------------------------

    async def _connect_once(self, on_welcome: Callable[[], None]) -> Decision:
        token = self._token if isinstance(self._token, str) else await self._token()
        o = self._options
        try:
            url = await self._resolve_url()
            async with open_connection(
                url,
                connect_timeout_s=o.connect_timeout_s,
                close_timeout_s=o.close_timeout_s,
                message_queue_size=o.message_queue_size,
                max_message_chars=o.max_message_chars,
                ssl_context=o.ssl_context,
            ) as ws:
                return await self._converse(ws, token, on_welcome)
        except ConnectionRejected as exc:
            if exc.status_code in _REJECTED:
                body = (exc.body or b"").decode("utf-8", "replace").strip()
                return Fatal(_REJECTED[exc.status_code](body or f"HTTP {exc.status_code}"))
            return Resync(f"rejected with HTTP {exc.status_code}")
        except (HandshakeError, OSError, trio.TooSlowError, _Unavailable) as exc:
            return Resync(f"{type(exc).__name__}: {exc}")
        finally:
            self._machine.disconnected()

    async def _resolve_url(self) -> str:
        if self._http is not None:
            self._ws_url = await self._fetch_ws_url()
        return f"{self._ws_url}/v1/docs/{self._doc_id}/ws"

    async def _fetch_ws_url(self) -> str:
        """``GET /v1/config``; falls back to the last known URL when it fails."""
        assert self._http is not None and self._base_url is not None
        try:
            with trio.fail_after(self._options.connect_timeout_s):
                response = await self._http.get(f"{self._base_url}/v1/config")
            response.raise_for_status()
            ws_url = response.json()["ws_url"]
            if not isinstance(ws_url, str) or not ws_url:
                raise ValueError(f"bad ws_url {ws_url!r}")
            return ws_url.rstrip("/")
        except (trio.TooSlowError, httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            if self._ws_url is not None:
                return self._ws_url
            raise _Unavailable(f"GET /v1/config failed: {exc!r}") from None

    async def _converse(
        self, ws: WebSocketConnection, token: str, on_welcome: Callable[[], None]
    ) -> Decision:
        """Hello, welcome, then serve; every connection error ends as a decision."""
        try:
            await ws.send_message(encode_frame(self._machine.hello(token)))
            welcome, rest = await self._receive_welcome(ws)
        except ConnectionClosed as exc:
            return self._closed(exc)
        except ProtocolError as exc:
            return Resync(f"protocol error: {exc}")
        if welcome is None:
            return Resync("no welcome")
        reaction = self._machine.welcome(welcome)
        if reaction.action is not None:
            return reaction.action
        self._doc._set_state(ConnectionState.CONNECTED)
        for event in reaction.events:
            self._doc._emit(event)
        on_welcome()
        decision = self._dispatch(rest)
        if decision is not None:
            return decision
        return await self._serve(ws)

    async def _receive_welcome(
        self, ws: WebSocketConnection
    ) -> tuple[Welcome | None, Sequence[ServerFrame]]:
        """The ``welcome`` (``None`` on timeout) and the frames batched after it."""
        with trio.move_on_after(self._options.welcome_timeout_s):
            while True:
                frames = decode_message(await ws.get_message())
                for position, frame in enumerate(frames):
                    if isinstance(frame, Welcome):
                        return frame, frames[position + 1 :]
                    if isinstance(frame, ErrorFrame):
                        self._machine.last_error = frame
                    elif not isinstance(frame, UnknownFrame):
                        raise ProtocolError(f"{type(frame).__name__} before welcome")
        return None, ()

    async def _serve(self, ws: WebSocketConnection) -> Decision:
        decision: Decision | None = None
        try:
            async with trio.open_nursery() as nursery:

                def finish(outcome: Decision) -> None:
                    nonlocal decision
                    if decision is None:
                        decision = outcome
                    nursery.cancel_scope.cancel()

                nursery.start_soon(self._write, ws)
                nursery.start_soon(self._heartbeat, ws, finish)
                nursery.start_soon(self._watch_close, finish)
                finish(await self._read(ws))
        except* ConnectionClosed:
            pass  # a send lost the race with the reader's own ConnectionClosed
        return decision or Resync("connection closed")

    async def _read(self, ws: WebSocketConnection) -> Decision:
        while True:
            try:
                message = await ws.get_message()
            except ConnectionClosed as exc:
                return self._closed(exc)
            try:
                frames = decode_message(message)
            except ProtocolError as exc:
                return Resync(f"protocol error: {exc}")
            decision = self._dispatch(frames)
            if decision is not None:
                return decision

    def _dispatch(self, frames: Sequence[ServerFrame]) -> Decision | None:
        """Feed frames to the machine; stop at the first that asks to reconnect."""
        decision: Decision | None = None
        for frame in frames:
            if isinstance(frame, PongFrame):
                if frame.t == self._ping_t:
                    self._doc.rtt_s = trio.current_time() - self._ping_sent_at
                    self._pong.set()
                continue
            reaction = self._machine.handle(frame)
            for event in reaction.events:
                self._doc._emit(event)
            if reaction.action is not None:
                decision = reaction.action
                break
        self._doc._kick()
        self._doc._notify()
        return decision

    async def _watch_close(self, finish: Callable[[Decision], None]) -> None:
        # The close itself happens in this task, as the transport exits, while
        # trio-websocket's reader still runs to complete the close handshake.
        await self._close_requested.wait()
        finish(Resync("closed by the client"))

    async def _write(self, ws: WebSocketConnection) -> None:
        try:
            while True:
                wakeup = self._doc._arm_wakeup()
                frames = self._machine.outgoing()
                for frame in frames:
                    await ws.send_message(encode_frame(frame))
                if not frames:
                    await wakeup.wait()
        except ConnectionClosed:
            return  # the reader sees the close and decides

    async def _heartbeat(self, ws: WebSocketConnection, finish: Callable[[Decision], None]) -> None:
        o = self._options
        try:
            while True:
                await trio.sleep(o.ping_interval_s)
                self._ping_t += 1
                self._ping_sent_at = trio.current_time()
                self._pong = trio.Event()
                await ws.send_message(encode_frame(Ping(self._ping_t)))
                with trio.move_on_after(o.pong_timeout_s):
                    await self._pong.wait()
                    continue
                finish(Resync("no pong"))
                return
        except ConnectionClosed:
            return


@asynccontextmanager
async def open_document(
    base_url: str | None,
    doc_id: str,
    token: TokenSource,
    *,
    client_id: str | None = None,
    ws_url: str | None = None,
    reconnect: bool = True,
    options: ClientOptions | None = None,
    rng: random.Random | None = None,
) -> AsyncIterator[Document]:
    """Open ``doc_id``, yielding a ``Document`` once the first ``welcome`` arrived.

    ``base_url`` is the HTTP base URL (``GET /v1/config`` gives the WebSocket URL, asked
    again before each connection); pass ``ws_url`` instead to skip that. Raises the
    ``SessionEnded`` subclass that ended the session (``Unauthorized``, …) out of the
    ``async with``, cancelling its body. Wrap in ``trio.fail_after`` to bound the wait
    for the first connection: unreachable servers are retried with backoff.
    """
    if base_url is None and ws_url is None:
        raise ValueError("give base_url or ws_url")
    client_id = client_id or secrets.token_urlsafe(12)
    if not CLIENT_ID.fullmatch(client_id):
        raise ValueError(f"client_id must be 1-64 of [A-Za-z0-9_-], got {client_id!r}")
    options = options or ClientOptions()
    machine = SessionMachine(
        client_id, max_cursors=options.max_cursors, history_ops=options.history_ops
    )
    doc = Document(machine, event_queue_size=options.event_queue_size)
    try:
        async with AsyncExitStack() as stack:
            http = None
            if ws_url is None and base_url is not None:
                http = await stack.enter_async_context(httpx.AsyncClient())
            connector = _Connector(
                doc,
                machine,
                doc_id,
                base_url=base_url,
                ws_url=ws_url,
                token=token,
                reconnect=reconnect,
                options=options,
                http=http,
                rng=rng or random.Random(),
            )
            nursery = await stack.enter_async_context(trio.open_nursery())
            await nursery.start(connector.run)
            try:
                yield doc
            finally:
                with trio.move_on_after(options.close_timeout_s, shield=True):
                    await connector.close()
                nursery.cancel_scope.cancel()
                doc._end(None)
    except BaseExceptionGroup as group:
        raise_unwrapped(group)
