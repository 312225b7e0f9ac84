"""The client side of a document session as an I/O-free state machine.

The network shell (``session.py``) feeds it decoded frames and close codes and sends
what ``outgoing()`` returns; every protocol decision is made here:

- the version invariant (PROTOCOL.md §2, guarantee 1): an ``op``/``ack`` below our
  version is a duplicate and ignored, one above it is a gap and asks for a resync;
- an ``op`` frame carrying our ``client_id`` and the pending ``seq`` is the ack;
- after a resume the pending op is (re)sent only once caught up to ``welcome.head``;
- op errors: ``forbidden``/``too_large`` revert the local edit, ``invalid_op``/
  ``bad_version`` reload, anything else about our op resyncs;
- close codes: never retry 4400/4401/4403/4404 (nor 1000: our client_id was taken
  over), reload after 4409/1009, else resync.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from editor.client.cursors import CursorTable, rebase_selection
from editor.client.errors import (
    AccessRevoked,
    BadRequest,
    DocumentNotFound,
    SessionEnded,
    SessionReplaced,
    Unauthorized,
)
from editor.client.events import (
    Acked,
    Cursor,
    Event,
    OpRejected,
    PeerLeft,
    Reloaded,
    RemoteChange,
    RemoteCursor,
)
from editor.client.protocol import (
    AckFrame,
    ClientFrame,
    CursorFrame,
    CursorOut,
    Delta,
    ErrorCode,
    ErrorFrame,
    Hello,
    LeaveFrame,
    OpFrame,
    OpOut,
    ServerFrame,
    User,
    Welcome,
)
from editor.client.state import ClientState, Synchronized
from editor.errors import CloseCode
from editor.ot import InvalidOp


@dataclass(frozen=True)
class Reload:
    """Drop local edits and reconnect at once with ``version: null``."""

    reason: str


@dataclass(frozen=True)
class Resync:
    """Reconnect (after backoff) and resume from the current version; pending is resent."""

    reason: str


@dataclass(frozen=True)
class Fatal:
    """End the session for good and raise ``error`` to the user."""

    error: SessionEnded


Action = Reload | Resync
Decision = Reload | Resync | Fatal


@dataclass
class Reaction:
    """What handling one frame produced: events for the user, maybe a connection action."""

    events: list[Event] = field(default_factory=list)
    action: Action | None = None


_FATAL_CLOSES: dict[int, type[SessionEnded]] = {
    CloseCode.NORMAL: SessionReplaced,
    CloseCode.BAD_REQUEST: BadRequest,
    CloseCode.UNAUTHORIZED: Unauthorized,
    CloseCode.REVOKED: AccessRevoked,
    CloseCode.NOT_FOUND: DocumentNotFound,
}


def classify_close(code: int | None, reason: str | None, last_error: ErrorFrame | None) -> Decision:
    """What to do after the server closed the connection with ``code``."""
    message = last_error.message if last_error is not None else (reason or "")
    if code in _FATAL_CLOSES:
        return Fatal(_FATAL_CLOSES[code](message or f"closed with {code}", code=code))
    if code == CloseCode.BAD_VERSION:
        return Reload(ErrorCode.BAD_VERSION)
    if code == CloseCode.TOO_BIG:
        return Reload("too_big")
    return Resync(f"closed with {code}")


class SessionMachine:
    """Everything one client decides about one document, across connections."""

    def __init__(self, client_id: str, *, max_cursors: int = 1000, history_ops: int = 1000) -> None:
        self.doc = ClientState(client_id)
        self.cursors = CursorTable(max_cursors=max_cursors, history_ops=history_ops)
        self.doc_id = ""
        self.role = ""
        self.user = User(id="", name="")
        self.connected = False
        self.last_error: ErrorFrame | None = None
        self.selection: tuple[int | None, int] | None = None
        self._selection_dirty = False
        self._catch_up_to: int | None = None
        self._sent_seq: int | None = None
        self._reload_reason: str | None = None

    # --- connection life ------------------------------------------------------

    def hello(self, token: str) -> Hello:
        """The first frame of the next connection: resume unless a reload is due."""
        fresh = not self.doc.loaded or self._reload_reason is not None
        return Hello(token, self.doc.client_id, None if fresh else self.doc.version)

    def request_reload(self, reason: str) -> None:
        """Make the next connection a fresh load (local edits are dropped then)."""
        self._reload_reason = reason

    def welcome(self, frame: Welcome) -> Reaction:
        """The session opened: load or check the version, start catching up."""
        reaction = Reaction()
        if frame.snapshot is not None:
            dropped = self.doc.load(frame.version, frame.snapshot)
            if self._reload_reason is not None or dropped:
                reaction.events.append(Reloaded(self._reload_reason or "snapshot", dropped))
            self._clamp_selection()
        elif not self.doc.loaded or frame.version != self.doc.version:
            self.request_reload("desync")
            return Reaction(action=Reload("desync"))
        self._reload_reason = None
        self.doc_id, self.role, self.user = frame.doc_id, frame.role, frame.user
        self.connected = True
        self.last_error = None
        self._sent_seq = None
        self._selection_dirty = self.selection is not None
        self._catch_up_to = frame.head if frame.head > frame.version else None
        self.cursors.reset(self.doc.version)
        for peer in frame.peers:
            reaction.events.extend(self._cursor(peer))
        return reaction

    def disconnected(self) -> None:
        """The connection ended; nothing is sent until the next ``welcome``."""
        self.connected = False

    @property
    def caught_up(self) -> bool:
        """Connected, and every op up to ``welcome.head`` has been received."""
        return self.connected and self._catch_up_to is None

    @property
    def synchronized(self) -> bool:
        """No local edit is waiting for the server."""
        return isinstance(self.doc.ot, Synchronized)

    # --- frames from the server -------------------------------------------------

    def handle(self, frame: ServerFrame) -> Reaction:
        """React to one server frame received after ``welcome``."""
        if isinstance(frame, OpFrame):
            return self._op(frame)
        if isinstance(frame, AckFrame):
            return self._ack(frame)
        if isinstance(frame, CursorFrame):
            return Reaction(self._cursor(frame))
        if isinstance(frame, LeaveFrame):
            self.cursors.remove(frame.client_id)
            return Reaction([PeerLeft(frame.client_id)])
        if isinstance(frame, ErrorFrame):
            return self._error(frame)
        if isinstance(frame, Welcome):
            return self._reload("bad_request")
        return Reaction()

    def _op(self, frame: OpFrame) -> Reaction:
        version = self.doc.version
        if frame.version < version:
            return Reaction()
        if frame.version > version:
            return Reaction(action=Resync("gap"))
        pending = self.doc.pending
        own = frame.client_id == self.doc.client_id
        if pending is not None and own and frame.seq == pending.seq:
            return self._acked(pending.seq)
        try:
            local = self.doc.remote(frame.delta)
        except InvalidOp:
            return self._reload("desync")
        self.cursors.committed(version, frame.delta)
        if self.selection is not None:
            self.selection = rebase_selection(local, *self.selection)
        self._check_caught_up()
        return Reaction(
            [RemoteChange(version, frame.delta, local, frame.client_id, frame.user_id, frame.seq)]
        )

    def _ack(self, frame: AckFrame) -> Reaction:
        pending = self.doc.pending
        if pending is None or frame.seq != pending.seq:
            return Reaction()  # a duplicate: the resent op was committed before
        if frame.version > self.doc.version:
            return Reaction(action=Resync("gap"))
        if frame.version < self.doc.version:
            return self._reload("desync")
        return self._acked(frame.seq)

    def _acked(self, seq: int) -> Reaction:
        version = self.doc.version
        try:
            committed, _ = self.doc.ack()
        except InvalidOp:
            return self._reload("desync")
        self.cursors.committed(version, committed)
        self._check_caught_up()
        return Reaction([Acked(seq, version)])

    def _error(self, frame: ErrorFrame) -> Reaction:
        pending = self.doc.pending
        if pending is None or frame.seq != pending.seq:
            self.last_error = frame  # explains the close that usually follows
            return Reaction()
        if frame.code in (ErrorCode.INVALID_OP, ErrorCode.BAD_VERSION):
            return self._reload(frame.code)
        if frame.code in (ErrorCode.FORBIDDEN, ErrorCode.TOO_LARGE):
            if self.selection is not None:
                self.selection = self._to_server(*self.selection)
            dropped = self.doc.drop_local()
            return Reaction([OpRejected(pending.seq, frame.code, frame.message, dropped)])
        return Reaction(action=Resync(frame.code))

    def _reload(self, reason: str) -> Reaction:
        self.request_reload(reason)
        return Reaction(action=Reload(reason))

    def _check_caught_up(self) -> None:
        if self._catch_up_to is not None and self.doc.version >= self._catch_up_to:
            self._catch_up_to = None

    # --- cursors ----------------------------------------------------------------

    def _cursor(self, frame: CursorFrame) -> list[Event]:
        if frame.client_id == self.doc.client_id:
            return []
        if not self.cursors.update(frame, self.doc.version):
            return []
        current = self.cursors.get(frame.client_id, self.doc.version)
        if current is None:
            return []  # tagged with a version we have not reached yet
        cursor = self._to_local(current)
        return [RemoteCursor(cursor.client_id, cursor.user, cursor.index, cursor.length)]

    def _to_local(self, frame: CursorFrame) -> Cursor:
        if frame.index is None:
            return Cursor(frame.client_id, frame.user, None, frame.length)
        start = self.doc.to_local(frame.index)
        end = self.doc.to_local(frame.index + frame.length) if frame.length else start
        return Cursor(frame.client_id, frame.user, start, max(0, end - start))

    def _to_server(self, index: int | None, length: int) -> tuple[int | None, int]:
        if index is None:
            return None, length
        start = self.doc.to_server(index)
        end = self.doc.to_server(index + length) if length else start
        return start, max(0, end - start)

    def _clamp_selection(self) -> None:
        if self.selection is None or self.selection[0] is None:
            return
        last = self.doc.length - 1
        index = min(self.selection[0], last)
        self.selection = (index, min(self.selection[1], last - index))

    def remote_cursors(self) -> dict[str, Cursor]:
        """Remote cursors at our version, rebased onto the local content."""
        return {
            frame.client_id: self._to_local(frame)
            for frame in self.cursors.current(self.doc.version)
        }

    # --- local input ------------------------------------------------------------

    def edit(self, delta: Delta) -> None:
        """A local edit; raises ``InvalidOp`` and changes nothing if it does not apply."""
        self.doc.edit(delta)
        if self.selection is not None:
            self.selection = rebase_selection(delta, *self.selection)

    def select(self, index: int | None, length: int) -> None:
        """Set our selection (local coordinates); it is sent when the protocol allows."""
        if index is not None and not 0 <= index < self.doc.length:
            raise ValueError(f"selection index {index} is outside the document")
        self.selection = (index, max(0, length))
        self._selection_dirty = True

    def outgoing(self) -> list[ClientFrame]:
        """Frames to send now: the pending op once caught up, then a changed selection."""
        if not self.caught_up:
            return []
        frames: list[ClientFrame] = []
        pending = self.doc.pending
        if pending is not None and pending.seq != self._sent_seq:
            frames.append(OpOut(pending.seq, self.doc.version, pending.delta))
            self._sent_seq = pending.seq
        if self._selection_dirty and self.selection is not None:
            index, length = self._to_server(*self.selection)
            frames.append(CursorOut(self.doc.version, index, length))
            self._selection_dirty = False
        return frames
