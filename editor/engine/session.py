"""A server-side session's state: who it is, its cursor, and the bounded queue of what to send.

The engine pushes ``Outgoing`` values with ``deliver``; a session whose queue is full is too
slow and is told to close instead of being buffered without bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import trio

from editor.engine.outgoing import Outgoing
from editor.errors import CloseCode


@dataclass
class Cursor:
    """A selection at a version; ``index is None`` means no selection."""

    version: int
    index: int | None
    length: int


@dataclass(eq=False)
class Session:
    """One WebSocket connection on one document."""

    doc_id: str
    user_id: str
    user_name: str
    client_id: str
    role: str
    queue_messages: int
    cursor: Cursor | None = None
    close_code: int | None = None
    close_reason: str = ""
    _send: trio.MemorySendChannel[Outgoing] = field(init=False, repr=False)
    outbox: trio.MemoryReceiveChannel[Outgoing] = field(init=False, repr=False)
    closed: trio.Event = field(default_factory=trio.Event, repr=False)

    def __post_init__(self) -> None:
        self._send, self.outbox = trio.open_memory_channel[Outgoing](self.queue_messages)

    @property
    def user(self) -> dict[str, str]:
        """The ``{id, name}`` shown to other sessions."""
        return {"id": self.user_id, "name": self.user_name}

    @property
    def can_edit(self) -> bool:
        """Whether the session's role lets it commit ops."""
        return self.role != "viewer"

    def deliver(self, item: Outgoing) -> None:
        """Queue something to send; close the session if it cannot keep up."""
        if self.close_code is not None:
            return
        try:
            self._send.send_nowait(item)
        except trio.WouldBlock:
            self.close(CloseCode.GOING_AWAY, "too slow: the send queue is full")
        except trio.ClosedResourceError:
            pass

    def close(self, code: int, reason: str) -> None:
        """Ask the connection to close with ``code`` (the first request wins)."""
        if self.close_code is None:
            self.close_code = code
            self.close_reason = reason
            self.closed.set()
            # The writer sends what is queued (a last error frame, say), then stops.
            self._send.close()
