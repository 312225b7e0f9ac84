"""One document's live state and its committer: the only task that commits it in this process.

The life of an edit (DESIGN.md): ops queue on the committer's channel; it takes every op
queued so far (group commit), dedups, transforms each against the ops committed since its
base version, validates it, appends the batch to the op log in one transaction, and only
then acks the senders and hands the ops to every local session, encoded once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import trio

from editor import logs, metrics, ot
from editor.engine.frames import encode, error, pack
from editor.engine.history import OpHistory
from editor.engine.session import Cursor, Session
from editor.errors import CloseCode
from editor.store import CommittedOp, Snapshot, Store, VersionConflict

log = logs.get(__name__)


@dataclass(eq=False)
class Submission:
    """An op from a session, waiting for the committer."""

    session: Session
    seq: int
    version: int
    delta: Any


@dataclass
class _ClientMark:
    """The last committed (seq, version) of one (user, client) on this document."""

    seq: int
    version: int


@dataclass
class _Batch:
    """The tentative outcome of one group commit, applied only once it is durable."""

    doc: ot.Document
    head: int
    committed: list[tuple[Submission, CommittedOp]] = field(default_factory=list)
    marks: dict[tuple[str, str], _ClientMark] = field(default_factory=dict)
    replies: list[tuple[Session, str]] = field(default_factory=list)


class DocumentRuntime:
    """A document loaded in this process: content, head, history, sessions and committer."""

    def __init__(self, doc_id: str, store: Store, content: ot.Document, head: int, *,
                 history_ops: int, batch_max_ops: int, snapshot_every_ops: int,
                 queue_ops: int, snapshot_version: int) -> None:
        self.doc_id = doc_id
        self.store = store
        self.content = content
        self.history = OpHistory(head, history_ops)
        self.sessions: set[Session] = set()
        self._batch_max_ops = batch_max_ops
        self._snapshot_every_ops = snapshot_every_ops
        self._last_snapshot = snapshot_version
        self._marks: dict[tuple[str, str], _ClientMark] = {}
        self._submit, self._queue = trio.open_memory_channel[Submission | None](queue_ops)
        self.needs_sync = False
        self.idle_since = time.monotonic()

    @classmethod
    async def load(cls, doc_id: str, store: Store, **settings: int) -> DocumentRuntime:
        """Rebuild the content at the head from the newest snapshot and the ops after it."""
        snapshot = await store.latest_snapshot(doc_id)
        head = await store.head(doc_id)
        content = ot.Document.from_delta(snapshot.content)
        for op in await store.read_ops(doc_id, snapshot.version, head):
            content = content.apply(op.delta)
        runtime = cls(doc_id, store, content, head, snapshot_version=snapshot.version, **settings)
        return runtime

    @property
    def head(self) -> int:
        """The number of committed ops."""
        return self.history.head

    # -- sessions

    def join(self, session: Session) -> int:
        """Register a session; it will receive every op committed from the returned head on."""
        self.sessions.add(session)
        metrics.SESSIONS.inc()
        self.idle_since = time.monotonic()
        return self.head

    def leave(self, session: Session) -> None:
        """Unregister a session and tell the others it left."""
        if session in self.sessions:
            self.sessions.discard(session)
            metrics.SESSIONS.dec()
            self._broadcast(encode({"type": "leave", "client_id": session.client_id}))
            self.idle_since = time.monotonic()

    def peers(self, exclude: Session | None = None) -> list[dict[str, Any]]:
        """The cursors of the sessions (but ``exclude``) as cursor frames at the head."""
        return [self._cursor_frame(s) for s in self.sessions
                if s is not exclude and s.cursor is not None]

    async def ops_since(self, from_version: int) -> list[CommittedOp]:
        """Committed ops from ``from_version`` to the current head."""
        if self.history.covers(from_version):
            return self.history.since(from_version)
        # Older than memory holds: everything below the head is in the op log.
        return await self.store.read_ops(self.doc_id, from_version, self.head)

    async def set_cursor(self, session: Session, version: int, index: int | None,
                         length: int) -> None:
        """Move a session's cursor to the head and show it to the others."""
        if index is not None:
            end = index + length
            for op in await self.ops_since(version):
                index = ot.transform_position(op.delta, index)
                end = ot.transform_position(op.delta, end)
            index = min(index, self.content.length - 1)
            length = max(0, min(end, self.content.length - 1) - index)
        session.cursor = Cursor(self.head, index, length)
        self._broadcast(encode(self._cursor_frame(session)), exclude=session)

    def _cursor_frame(self, session: Session) -> dict[str, Any]:
        cursor = session.cursor
        assert cursor is not None
        index, length = cursor.index, cursor.length
        if index is not None and cursor.version < self.head:
            if self.history.covers(cursor.version):
                end = index + length
                for op in self.history.since(cursor.version):
                    index = ot.transform_position(op.delta, index)
                    end = ot.transform_position(op.delta, end)
                length = max(0, end - index)
            else:
                index, length = None, 0
            session.cursor = Cursor(self.head, index, length)
        return {"type": "cursor", "client_id": session.client_id, "user": session.user,
                "version": self.head, "index": index, "length": length}

    # -- committing

    async def submit(self, submission: Submission) -> None:
        """Queue an op for the committer (waits while the queue is full: backpressure)."""
        await self._submit.send(submission)

    def request_sync(self) -> None:
        """Ask the committer to read ops that another process committed."""
        self.needs_sync = True
        try:
            self._submit.send_nowait(None)
        except trio.WouldBlock:
            pass  # the committer is busy and checks needs_sync before each batch

    async def stop(self) -> None:
        """Let the committer finish what is queued, then return from ``run``."""
        await self._submit.aclose()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The committer loop: group-commit queued ops until the queue is closed."""
        task_status.started()
        async with self._queue:
            while True:
                try:
                    first = await self._queue.receive()
                except trio.EndOfChannel:
                    return
                batch = [] if first is None else [first]
                while len(batch) < self._batch_max_ops:
                    try:
                        item = self._queue.receive_nowait()
                    except (trio.WouldBlock, trio.EndOfChannel):
                        break
                    if item is not None:
                        batch.append(item)
                if self.needs_sync:
                    await self.sync_from_store()
                if batch:
                    await self._commit(batch)

    async def sync_from_store(self) -> None:
        """Apply and fan out ops that another process appended to the op log."""
        self.needs_sync = False
        head = await self.store.head(self.doc_id)
        if head <= self.head:
            return
        ops = await self.store.read_ops(self.doc_id, self.head, head)
        frames = []
        for op in ops:
            self.content = self.content.apply(op.delta)
            self.history.append(op)
            mark = self._marks.get((op.user_id, op.client_id))
            if mark is not None and op.seq > mark.seq:
                mark.seq, mark.version = op.seq, op.version
            frames.append(encode(_op_frame(op)))
        self._broadcast(pack(frames))

    async def _commit(self, submissions: list[Submission]) -> None:
        started = time.perf_counter()
        for attempt in range(100):
            batch = await self._prepare(submissions)
            if not batch.committed:
                break
            try:
                await self.store.append_ops(self.doc_id, [op for _, op in batch.committed])
            except VersionConflict:
                metrics.COMMIT_CONFLICTS.inc()
                log.info("commit conflict", extra={"doc_id": self.doc_id, "attempt": attempt})
                await self.sync_from_store()
                continue
            self._publish(batch)
            break
        else:
            for submission in submissions:
                submission.session.deliver(error("internal", "could not commit", submission.seq))
            return
        for session, message in batch.replies:
            session.deliver(message)
        metrics.COMMIT_SECONDS.observe(time.perf_counter() - started)
        metrics.COMMIT_BATCH_OPS.observe(len(batch.committed))
        if self.head - self._last_snapshot >= self._snapshot_every_ops:
            await self._snapshot()

    async def _prepare(self, submissions: list[Submission]) -> _Batch:
        """Dedup, transform and validate each op against the tentative state of the batch."""
        batch = _Batch(self.content, self.head)
        for sub in submissions:
            key = (sub.session.user_id, sub.session.client_id)
            mark = batch.marks.get(key) or await self._mark(key)
            if mark is not None and sub.seq <= mark.seq:
                version = await self._version_of_seq(batch, key, sub.seq)
                if version is None:
                    batch.replies.append((sub.session, error(
                        "bad_version", f"seq {sub.seq} is out of order", sub.seq)))
                else:
                    batch.replies.append((sub.session, _ack(sub.seq, version)))
                continue
            reply = self._check_version(sub, mark)
            if reply is None:
                try:
                    delta = await self._rebase(sub, batch)
                    ot.validate(delta, batch.doc)
                    new_doc = batch.doc.apply(delta)
                except ot.InvalidOp as exc:
                    metrics.OP_ERRORS.labels(exc.code).inc()
                    batch.replies.append((sub.session, error(exc.code, str(exc), sub.seq)))
                    continue
                op = CommittedOp(self.doc_id, batch.head, delta, sub.session.user_id,
                                 sub.session.client_id, sub.seq, time.time())
                batch.doc, batch.head = new_doc, batch.head + 1
                batch.committed.append((sub, op))
                batch.marks[key] = _ClientMark(sub.seq, op.version)
            else:
                batch.replies.append((sub.session, reply))
        return batch

    def _check_version(self, sub: Submission, mark: _ClientMark | None) -> str | None:
        if sub.version > self.head:
            return error("bad_version", f"version {sub.version} is above the head {self.head}",
                         sub.seq)
        if mark is not None and sub.version <= mark.version:
            return error("bad_version", f"version {sub.version} does not include this client's"
                         f" op committed as version {mark.version}", sub.seq)
        return None

    async def _rebase(self, sub: Submission, batch: _Batch) -> list[dict[str, Any]]:
        """The op transformed over everything committed after its base (committed side wins)."""
        ot.check_shape(sub.delta)
        delta: list[dict[str, Any]] = sub.delta
        for op in await self.ops_since(sub.version):
            delta = ot.transform(op.delta, delta, True)
        for _, op in batch.committed:
            delta = ot.transform(op.delta, delta, True)
        return delta

    async def _mark(self, key: tuple[str, str]) -> _ClientMark | None:
        mark = self._marks.get(key)
        if mark is None:
            found = await self.store.committed_seq(self.doc_id, *key)
            if found is None:
                return None
            mark = self._marks[key] = _ClientMark(*found)
        return mark

    async def _version_of_seq(self, batch: _Batch, key: tuple[str, str], seq: int) -> int | None:
        for _, op in batch.committed:
            if (op.user_id, op.client_id, op.seq) == (*key, seq):
                return op.version
        return await self.store.version_of_seq(self.doc_id, key[0], key[1], seq)

    def _publish(self, batch: _Batch) -> None:
        """After the commit: move the head, ack the senders, fan out one encoding to all."""
        self.content = batch.doc
        self.idle_since = time.monotonic()
        for key, mark in batch.marks.items():
            self._marks[key] = mark
        frames: list[str] = []
        senders: dict[Session, list[int]] = {}
        for sub, op in batch.committed:
            self.history.append(op)
            senders.setdefault(sub.session, []).append(len(frames))
            frames.append(encode(_op_frame(op)))
        metrics.OPS_COMMITTED.inc(len(batch.committed))
        shared = pack(frames)
        # Senders outside the session set (a REST restore, a replaced session) get acks too.
        for session in self.sessions | senders.keys():
            positions = senders.get(session)
            if positions is None:
                session.deliver(shared)
                continue
            own = list(frames)
            for position in positions:
                op = batch.committed[position][1]
                own[position] = _ack(op.seq, op.version)
            session.deliver(pack(own))

    def _broadcast(self, message: str, exclude: Session | None = None) -> None:
        for session in list(self.sessions):
            if session is not exclude:
                session.deliver(message)

    async def _snapshot(self) -> None:
        version = self.head
        await self.store.save_snapshot(self.doc_id, Snapshot(version, self.content.to_delta()))
        self._last_snapshot = version

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


def _op_frame(op: CommittedOp) -> dict[str, Any]:
    return {"type": "op", "version": op.version, "delta": op.delta, "client_id": op.client_id,
            "user_id": op.user_id, "seq": op.seq}


def _ack(seq: int, version: int) -> str:
    return encode({"type": "ack", "seq": seq, "version": version})
