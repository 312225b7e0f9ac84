"""The public handle on a live document: local edits, content, cursors and events.

A ``Document`` is made by ``open_document`` (``session.py``), whose connection task
feeds it; everything here is synchronous state plus Trio events, so an edit is applied
to the local content immediately and sent when the protocol allows (at most one op in
flight, later edits composed behind it, kept across reconnects).
"""

from __future__ import annotations

from typing import Any

import trio

from editor.client.errors import DocumentClosed, SessionEnded
from editor.client.events import ConnectionState, ConnectionStateChanged, Cursor, Event
from editor.client.machine import SessionMachine
from editor.client.protocol import Delta, User


def _retain(index: int) -> Delta:
    if index < 0:
        raise ValueError(f"negative index {index}")
    return [{"retain": index}] if index else []


class Document:
    """One open document. Indexes and lengths count UTF-16 code units, as quill-delta does."""

    def __init__(self, machine: SessionMachine, *, event_queue_size: int) -> None:
        self._machine = machine
        self._events_send, self._events_recv = trio.open_memory_channel[Event](event_queue_size)
        self._state = ConnectionState.RECONNECTING
        self._ended: SessionEnded | DocumentClosed | None = None
        self._changed = trio.Event()
        self._wakeup = trio.Event()
        self.events_dropped = 0
        """How many events were dropped because the ``events()`` queue was full."""
        self.rtt_s: float | None = None
        """The round-trip time of the last answered heartbeat ping."""

    # --- what the document holds --------------------------------------------------

    @property
    def content(self) -> Delta:
        """The local content (inserts only), including edits not yet acknowledged. Read-only."""
        return self._machine.doc.content

    @property
    def text(self) -> str:
        """The local content as plain text (embeds are left out)."""
        return "".join(op["insert"] for op in self.content if isinstance(op.get("insert"), str))

    @property
    def version(self) -> int:
        """The last server version fully applied locally."""
        return self._machine.doc.version

    @property
    def doc_id(self) -> str:
        """The document's id, as the server names it."""
        return self._machine.doc_id

    @property
    def client_id(self) -> str:
        """This editor instance's id, kept across reconnects."""
        return self._machine.doc.client_id

    @property
    def role(self) -> str:
        """``owner``, ``editor`` or ``viewer``, from the last ``welcome``."""
        return self._machine.role

    @property
    def user(self) -> User:
        """The user the token belongs to."""
        return self._machine.user

    @property
    def cursors(self) -> dict[str, Cursor]:
        """Other sessions' selections by client id, rebased onto the local content."""
        return self._machine.remote_cursors()

    @property
    def selection(self) -> tuple[int | None, int] | None:
        """Our own selection ``(index, length)`` in local coordinates, if one was set."""
        return self._machine.selection

    @property
    def connection_state(self) -> ConnectionState:
        """``connected``, ``reconnecting`` or ``offline``."""
        return self._state

    @property
    def synchronized(self) -> bool:
        """True when every local edit has been acknowledged by the server."""
        return self._machine.synchronized

    # --- local edits ------------------------------------------------------------

    async def submit(self, delta: Delta) -> None:
        """Apply ``delta`` to the local content and send it when the protocol allows.

        Raises ``editor.ot.InvalidOp`` (changing nothing) if it does not apply locally,
        and the ``SessionEnded`` error (or ``DocumentClosed``) once the session is over.
        """
        # Applied before any checkpoint, so a delta computed from ``content`` just before the
        # call is applied to exactly that content (no remote op can slip in between).
        self._check_open()
        self._machine.edit(delta)
        self._kick()
        self._notify()
        await trio.lowlevel.checkpoint()

    async def insert(self, index: int, text: str, attributes: dict[str, Any] | None = None) -> None:
        """Insert ``text`` at ``index``."""
        op: dict[str, Any] = {"insert": text}
        if attributes:
            op["attributes"] = attributes
        await self.submit([*_retain(index), op] if text else [])

    async def delete(self, index: int, length: int) -> None:
        """Delete ``length`` units from ``index``."""
        await self.submit([*_retain(index), {"delete": length}] if length else [])

    async def format(self, index: int, length: int, attributes: dict[str, Any]) -> None:
        """Set ``attributes`` on ``length`` units from ``index`` (``None`` values remove)."""
        op = {"retain": length, "attributes": attributes}
        await self.submit([*_retain(index), op] if length and attributes else [])

    async def set_cursor(self, index: int | None, length: int = 0) -> None:
        """Set our selection in local coordinates; ``index=None`` blurs it.

        Raises ``ValueError`` for an index outside the document (past its final newline).
        """
        await trio.lowlevel.checkpoint()
        self._check_open()
        self._machine.select(index, length)
        self._kick()

    async def wait_synchronized(self) -> None:
        """Wait until every local edit is acknowledged (no pending op, no buffer)."""
        await trio.lowlevel.checkpoint()
        while not self._machine.synchronized:
            self._check_open()
            await self._changed.wait()

    def events(self) -> trio.MemoryReceiveChannel[Event]:
        """The document's events, in order, from a queue of ``event_queue_size``.

        The queue is bounded: when the consumer falls behind and the queue is full, new
        events are dropped (counted in ``events_dropped``) rather than stalling the
        connection; the document itself stays correct, read ``content`` and ``cursors``
        for the current state. All callers share one queue, and iteration ends once the
        session is over.
        """
        return self._events_recv

    # --- used by the connection task (session.py) -------------------------------

    def _check_open(self) -> None:
        if self._ended is not None:
            raise self._ended

    def _emit(self, event: Event) -> None:
        try:
            self._events_send.send_nowait(event)
        except trio.WouldBlock:
            self.events_dropped += 1
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass

    def _set_state(self, state: ConnectionState) -> None:
        if state != self._state:
            self._state = state
            self._emit(ConnectionStateChanged(state))
            self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def _kick(self) -> None:
        self._wakeup.set()

    def _arm_wakeup(self) -> trio.Event:
        self._wakeup = trio.Event()
        return self._wakeup

    def _end(self, error: SessionEnded | None) -> None:
        """The session is over: later calls raise ``error`` (or ``DocumentClosed``)."""
        if self._ended is None:
            self._ended = error or DocumentClosed("the document was closed")
        self._set_state(ConnectionState.OFFLINE)
        self._events_send.close()
        self._notify()

