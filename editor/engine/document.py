"""One document loaded in this process: content, head, recent history, sessions, cursors.

The committer (``committer.py``) is the only task that changes the content and the head;
it calls ``publish`` after each durable commit and ``absorb`` for ops another process
committed. Fan-out hands one shared ``OpsOut`` to every session, so it is encoded once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import trio

from editor import metrics, ot
from editor.bus import SnapshotCache
from editor.engine.history import OpHistory
from editor.engine.outgoing import (
    AckOut,
    CursorOut,
    ErrorOut,
    LeaveOut,
    OpsOut,
    OwnOpsOut,
)
from editor.engine.replay import content_at_head
from editor.engine.sequencer import AlreadyCommitted, Committed, DocState, Outcome, Proposal
from editor.engine.session import Cursor, Session
from editor.errors import CloseCode
from editor.store.protocols import OpLog
from editor.store.records import ClientMark, CommittedOp, SeqKey


@dataclass(eq=False)
class Waiter:
    """A caller outside any session (a REST restore) waiting for its proposal's outcome."""

    done: trio.Event = field(default_factory=trio.Event)
    outcome: Outcome | None = None


@dataclass(eq=False)
class Submission:
    """A proposal waiting for the committer, and whom to answer."""

    proposal: Proposal
    reply_to: Session | Waiter
    restore_from: int | None = None  # a restore: its document.restored event commits with it


class DocumentRuntime:
    """A document loaded in this process."""

    def __init__(self, doc_id: str, content: ot.Document, head: int, *, history_ops: int,
                 snapshot_version: int) -> None:
        self.doc_id = doc_id
        self.state = DocState(doc_id, content, head)
        self.history = OpHistory(head, history_ops)
        self.sessions: set[Session] = set()
        self.last_snapshot = snapshot_version
        self.needs_sync = False
        self.idle_since = time.monotonic()
        # Sessions on other replicas, by client id, at the version they were reported at.
        self.remote: dict[str, CursorOut] = {}
        # Told of this replica's joins, cursor moves and leaves, to share with other replicas.
        self.on_join: Callable[[], None] | None = None
        self.on_local: Callable[[CursorOut | LeaveOut], None] | None = None

    @classmethod
    async def load(cls, doc_id: str, oplog: OpLog, *, history_ops: int,
                   cache: SnapshotCache | None = None) -> DocumentRuntime:
        """Rebuild the content at the head from the newest snapshot (cached or stored) and
        the ops after it."""
        head, content, snapshot_version = await content_at_head(oplog, doc_id, cache)
        return cls(doc_id, content, head, history_ops=history_ops,
                   snapshot_version=snapshot_version)

    @property
    def head(self) -> int:
        """The number of committed ops."""
        return self.state.head

    @property
    def content(self) -> ot.Document:
        """The content at the head."""
        return self.state.content

    # -- sessions

    def join(self, session: Session) -> int:
        """Register a session; it will receive every op committed from the returned head on."""
        self.sessions.add(session)
        metrics.SESSIONS.inc()
        self.idle_since = time.monotonic()
        if self.on_join is not None:
            self.on_join()
        return self.head

    def leave(self, session: Session) -> None:
        """Unregister a session and tell the others it left."""
        if session in self.sessions:
            self.sessions.discard(session)
            metrics.SESSIONS.dec()
            left = LeaveOut(session.client_id)
            self._broadcast(left)
            self.idle_since = time.monotonic()
            if self.on_local is not None:
                self.on_local(left)

    def peers(self, exclude: Session | None = None) -> list[CursorOut]:
        """The cursors of the sessions (but ``exclude``), on every replica, at the head."""
        local = [self._cursor_at_head(s) for s in self.sessions
                 if s is not exclude and s.cursor is not None]
        shown = {c.client_id for c in local} | ({exclude.client_id} if exclude else set())
        return local + [self._remote_at_head(c) for c in self.remote.values()
                        if c.client_id not in shown]

    def local_cursors(self) -> list[CursorOut]:
        """Every session of this replica at the head (no selection: ``index`` None)."""
        return [self._cursor_at_head(s) if s.cursor is not None
                else CursorOut(s.client_id, s.user, self.head, None, 0)
                for s in self.sessions]

    def show_remote(self, item: CursorOut | LeaveOut) -> None:
        """Another replica's session moved its cursor or left: tell this replica's sessions.

        A cursor at a version this replica has not reached yet is kept, not shown: the ops
        that bring it here come first (and ``peers`` shows it without a selection until then).
        """
        if isinstance(item, LeaveOut):
            if self.remote.pop(item.client_id, None) is not None:
                self._broadcast(item)
            return
        self.remote[item.client_id] = item
        if item.version <= self.head:
            self._broadcast(self._remote_at_head(item))

    def keep_remote(self, client_ids: set[str]) -> None:
        """Forget the other replicas' sessions not in ``client_ids`` (their presence expired)."""
        for client_id in [c for c in self.remote if c not in client_ids]:
            self.show_remote(LeaveOut(client_id))

    def _remote_at_head(self, item: CursorOut) -> CursorOut:
        index, length = _moved(self.history, self.head, item.version, item.index, item.length)
        return CursorOut(item.client_id, item.user, self.head, index, length)

    async def ops_since(self, oplog: OpLog, from_version: int) -> list[CommittedOp]:
        """Committed ops from ``from_version`` to the current head."""
        if self.history.covers(from_version):
            return self.history.since(from_version)
        # Older than memory holds: everything below the head is in the op log.
        return await oplog.read_ops(self.doc_id, from_version, self.head)

    def set_cursor(self, session: Session, version: int, index: int | None,
                   length: int) -> None:
        """Move a session's cursor to the head and show it to the others.

        A selection based before the ops in memory is shown as none: a cursor is a hint,
        and transforming it through history read from the store would let any client make
        the server do that work once per frame.
        """
        index, length = _moved(self.history, self.head, version, index, length)
        if index is not None:
            end = index + length
            index = min(index, self.content.length - 1)
            length = max(0, min(end, self.content.length - 1) - index)
        session.cursor = Cursor(self.head, index, length)
        moved = self._cursor_at_head(session)
        self._broadcast(moved, exclude=session)
        if self.on_local is not None:
            self.on_local(moved)

    def _cursor_at_head(self, session: Session) -> CursorOut:
        cursor = session.cursor
        assert cursor is not None
        index, length = cursor.index, cursor.length
        if cursor.version < self.head:
            index, length = _moved(self.history, self.head, cursor.version, index, length)
            session.cursor = Cursor(self.head, index, length)
        return CursorOut(session.client_id, session.user, self.head, index, length)

    # -- after commits (called by the committer only)

    def known_seq(self, key: SeqKey) -> int | None:
        """The version of a dedup key if memory holds its op (newest first: resends are recent)."""
        for op in self.history.newest_first():
            if (op.user_id, op.client_id, op.seq) == key:
                return op.version
        return None

    def absorb(self, ops: list[CommittedOp]) -> None:
        """Apply and fan out ops that another process appended to the op log."""
        fresh = [op for op in ops if op.version >= self.head]
        if not fresh:
            return
        content = self.state.content
        for op in fresh:
            content = content.apply(op.delta)
            self.history.append(op)
            key = (op.user_id, op.client_id)
            mark = self.state.marks.get(key)
            if mark is not None and op.seq > mark.seq:
                self.state.marks[key] = ClientMark(op.seq, op.version)
            if op.seq > self.state.answered.get(key, op.seq):
                self.state.answered[key] = op.seq
        self.state.content, self.state.head = content, fresh[-1].version + 1
        # Committed elsewhere: the last op's stamp is the nearest to its commit this side knows.
        self._broadcast(OpsOut(tuple(fresh), fresh[-1].created_at))

    def publish(self, submissions: list[Submission], outcomes: list[Outcome]) -> None:
        """After a durable commit: ack the senders, fan out one batch to every session."""
        self.idle_since = time.monotonic()
        ops: list[CommittedOp] = []
        senders: dict[Session, set[int]] = {}
        replies: list[tuple[Session, AckOut | ErrorOut]] = []
        for submission, outcome in zip(submissions, outcomes, strict=True):
            target = submission.reply_to
            if isinstance(target, Waiter):
                target.outcome = outcome
                target.done.set()
            if isinstance(outcome, Committed):
                self.history.append(outcome.op)
                if isinstance(target, Session):
                    senders.setdefault(target, set()).add(len(ops))
                ops.append(outcome.op)
            elif isinstance(target, Session):
                replies.append((target, _reply(outcome)))
        if ops:
            metrics.OPS_COMMITTED.inc(len(ops))
            batch = OpsOut(tuple(ops), time.time())
            # Senders outside the session set (a replaced session) get their acks too.
            for session in self.sessions | senders.keys():
                positions = senders.get(session)
                session.deliver(batch if positions is None
                                else OwnOpsOut(batch, frozenset(positions)))
        for session, reply in replies:
            session.deliver(reply)

    def _broadcast(self, item: OpsOut | CursorOut | LeaveOut,
                   exclude: Session | None = None) -> None:
        for session in list(self.sessions):
            if session is not exclude:
                session.deliver(item)

    def close_sessions(self, code: int, reason: str, user_id: str | None = None) -> None:
        """Close every session (of one user, if given) with ``code``."""
        for session in list(self.sessions):
            if user_id is None or session.user_id == user_id:
                session.close(code, reason)

    def set_role(self, user_id: str, role: str | None) -> None:
        """Apply a role change to open sessions at once; ``None`` revokes access (4403)."""
        for session in list(self.sessions):
            if session.user_id == user_id:
                if role is None:
                    session.close(CloseCode.REVOKED, "access revoked")
                else:
                    session.role = role


def _moved(history: OpHistory, head: int, version: int, index: int | None, length: int
           ) -> tuple[int | None, int]:
    """A selection at ``version`` moved to ``head`` through the ops in between; no selection
    when memory no longer holds them or ``version`` is ahead of ``head``."""
    if index is None or version == head:
        return index, length
    if version > head or not history.covers(version):
        return None, 0
    end = index + length
    for op in history.since(version):
        index = ot.transform_position(op.delta, index)
        end = ot.transform_position(op.delta, end)
    return index, max(0, end - index)


def _reply(outcome: Outcome) -> AckOut | ErrorOut:
    if isinstance(outcome, AlreadyCommitted):
        return AckOut(outcome.seq, outcome.version)
    assert not isinstance(outcome, Committed)
    return ErrorOut(outcome.code, outcome.message, outcome.seq)
