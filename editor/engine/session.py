"""A server-side session's state: who it is, its cursor, and the bounded queue of what to send.

The engine pushes ``Outgoing`` values with ``deliver``; a session whose queue is full is told
to close instead of being buffered without bound. Why it is full decides how (PROTOCOL.md §3):

- a slow reader (the server's frames pile up, the client owes nothing) closes with 1001 and
  may resume at once;
- a flood (the client sent ops without waiting for their acks, so the queue holds answers to
  its own ops) gets ``rate_limited`` and 4429, which tells it to back off, not reconnect.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import trio

from editor import metrics
from editor.engine.outgoing import AckOut, ErrorOut, OpsOut, Outgoing, OwnOpsOut
from editor.errors import CloseCode

# The protocol allows one unacknowledged op; a client owed this many answers when its queue
# overflows is flooding, not reading slowly.
FLOOD_UNANSWERED_OPS = 8


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
    last_error: ErrorOut | None = None  # sent before the close frame, ahead of anything queued
    drain_queue: bool = True  # whether what is queued still goes out once closed
    ops_unanswered: int = 0  # ops read from the client whose ack or error is not yet sent
    _received_at: deque[float] = field(default_factory=deque, repr=False)  # unanswered ops
    _send: trio.MemorySendChannel[Outgoing] = field(init=False, repr=False)
    outbox: trio.MemoryReceiveChannel[Outgoing] = field(init=False, repr=False)
    # Called once when the session closes (the connection stops reading).
    on_close: Callable[[], None] | None = field(default=None, repr=False)
    # Set by the connection while its writer waits on an empty queue: sends an item at once
    # (calling ``sent``) without waking the writer; False when it cannot, and then the item is
    # queued as usual.
    send_now: Callable[[Outgoing], bool] | None = field(default=None, repr=False)

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

    def op_received(self) -> bool:
        """The client sent an op: it is owed an answer. False, and the session closes with
        ``rate_limited``, when it already owes ``FLOOD_UNANSWERED_OPS`` answers.

        The same flood also shows as a queue full of answers (``deliver``), but only once the
        client's socket buffers are full: with answers packed into one message per tick they
        may never fill, so a flood is recognised as it is read too.
        """
        if self.ops_unanswered >= FLOOD_UNANSWERED_OPS:
            self._flood()
            return False
        self.ops_unanswered += 1
        self._received_at.append(time.perf_counter())
        return True

    def _flood(self) -> None:
        message = (f"{self.ops_unanswered} ops sent without waiting for their acks;"
                   " send one op at a time")
        self.close(CloseCode.RATE_LIMITED, message, error=ErrorOut("rate_limited", message))

    def sent(self, item: Outgoing) -> None:
        """``item`` went out on the wire: the answers it carries are no longer owed."""
        if isinstance(item, OpsOut):
            metrics.FANOUT_SECONDS.observe(max(0.0, time.time() - item.committed_at))
            return
        if isinstance(item, OwnOpsOut):
            answered = len(item.ack_positions)
        elif isinstance(item, AckOut) or (isinstance(item, ErrorOut) and item.seq is not None):
            answered = 1
        else:
            return
        self.ops_unanswered = max(0, self.ops_unanswered - answered)
        now = time.perf_counter()
        for _ in range(min(answered, len(self._received_at))):  # answers come in op order
            metrics.OP_ACK_SECONDS.observe(now - self._received_at.popleft())

    def deliver(self, item: Outgoing) -> None:
        """Queue something to send; close the session if it cannot keep up."""
        if self.close_code is not None:
            return
        if self.send_now is not None and self.send_now(item):
            return
        try:
            self._send.send_nowait(item)
        except trio.WouldBlock:
            if self.ops_unanswered >= FLOOD_UNANSWERED_OPS:
                self._flood()
            else:
                # The client resumes from the version it applied: nothing queued is worth
                # pushing into a connection that could not take it.
                self.close(CloseCode.GOING_AWAY, "too slow: the send queue is full",
                           drain=False)
        except trio.ClosedResourceError:
            pass

    def close(self, code: int, reason: str, *, error: ErrorOut | None = None,
              drain: bool = True) -> None:
        """Ask the connection to close with ``code`` (the first request wins): after what is
        queued when ``drain``, else at once; the ``error`` frame, if any, goes last."""
        if self.close_code is None:
            self.close_code = code
            self.close_reason = reason
            self.last_error = error
            # A session ending on an error skips the queue: the client resumes anyway.
            self.drain_queue = drain and error is None
            self._send.close()
            if self.on_close is not None:
                self.on_close()
