"""A document's committer: the only task that commits it in this process. I/O only.

Per batch (every op queued so far, DESIGN.md "The life of an edit"): at most one read
(``OpLog.read_for_commit``, skipped when memory holds everything) and one append transaction,
whatever the batch size; the decision in between is the pure ``sequencer.sequence``. On a
conflict another process appended first: read what it committed, sequence again, retry.
A commit whose outcome is unknown is settled by its dedup keys before anyone is answered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import trio

from editor import logs, metrics
from editor.engine.document import DocumentRuntime, Submission
from editor.engine.sequencer import (
    Committed,
    Proposal,
    Refused,
    Sequenced,
    plan_read,
    sequence,
    transform_base,
)
from editor.events import shapes
from editor.events.shapes import Event
from editor.store.protocols import OpLog
from editor.store.records import (
    CommitRead,
    CommittedOp,
    CommitUnknown,
    SeqKey,
    Snapshot,
    Unavailable,
    VersionConflict,
)

log = logs.get(__name__)
MAX_ATTEMPTS = 100
CommitListener = Callable[[str, Sequence[CommittedOp]], None]


@dataclass(frozen=True)
class ForeignOps:
    """Consecutive ops another replica committed, as its bus message carried them."""

    ops: tuple[CommittedOp, ...]


class Committer:
    """Group-commits the submissions queued for one document."""

    def __init__(self, runtime: DocumentRuntime, oplog: OpLog, *, batch_max_ops: int,
                 snapshot_every_ops: int, queue_ops: int,
                 on_commit: CommitListener | None = None) -> None:
        self.runtime = runtime
        self.oplog = oplog
        self._batch_max_ops = batch_max_ops
        self._snapshot_every_ops = snapshot_every_ops
        self._on_commit = on_commit
        self._submit, self._queue = trio.open_memory_channel[Submission | ForeignOps | None](
            queue_ops)

    async def submit(self, submission: Submission) -> None:
        """Queue a proposal (waits while the queue is full: backpressure)."""
        await self._submit.send(submission)

    def offer_foreign(self, ops: Sequence[CommittedOp]) -> None:
        """Ops another replica committed (from the bus): absorbed between batches when they
        follow the head, else the gap is read from the op log."""
        try:
            self._submit.send_nowait(ForeignOps(tuple(ops)))
        except trio.WouldBlock:
            self.request_sync()
        except trio.ClosedResourceError:
            pass

    def request_sync(self) -> None:
        """Ask the committer to read ops that another process committed."""
        self.runtime.needs_sync = True
        try:
            self._submit.send_nowait(None)
        except (trio.WouldBlock, trio.ClosedResourceError):
            pass  # busy: it checks needs_sync before each batch; closed: stopping anyway

    async def stop(self) -> None:
        """Let the committer finish what is queued, then return from ``run``."""
        await self._submit.aclose()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Group-commit queued submissions until the queue is closed."""
        task_status.started()
        async with self._queue:
            while True:
                try:
                    first = await self._queue.receive()
                except trio.EndOfChannel:
                    return
                batch: list[Submission] = []
                self._take(first, batch)
                while len(batch) < self._batch_max_ops:
                    try:
                        item = self._queue.receive_nowait()
                    except (trio.WouldBlock, trio.EndOfChannel):
                        break
                    self._take(item, batch)
                if batch or self.runtime.needs_sync:
                    await self._commit(batch)

    def _take(self, item: Submission | ForeignOps | None, batch: list[Submission]) -> None:
        """Add a submission to the batch; absorb foreign ops that follow the head at once."""
        if isinstance(item, Submission):
            batch.append(item)
        elif isinstance(item, ForeignOps):
            runtime = self.runtime
            if item.ops[0].version > runtime.head:
                runtime.needs_sync = True  # a gap: the op log has what the bus lost
            elif item.ops[-1].version >= runtime.head:
                runtime.absorb(list(item.ops))

    async def _commit(self, submissions: list[Submission]) -> None:
        started = time.perf_counter()
        proposals = [s.proposal for s in submissions]
        runtime = self.runtime
        try:
            for attempt in range(MAX_ATTEMPTS):
                sequenced = await self._sequence(proposals)
                if not sequenced.ops:
                    break
                try:
                    await self.oplog.append(runtime.doc_id, sequenced.ops,
                                            _events(submissions, sequenced))
                except VersionConflict:
                    metrics.COMMIT_CONFLICTS.inc()
                    log.info("commit conflict", extra={"doc_id": runtime.doc_id,
                                                       "attempt": attempt})
                    runtime.needs_sync = True
                    continue
                except CommitUnknown:
                    if not await self._settle(sequenced.ops):
                        runtime.needs_sync = True
                        continue
                break
            else:
                raise Unavailable(f"no commit after {MAX_ATTEMPTS} conflicts in a row")
        except Unavailable as exc:
            log.warning("commit failed", extra={"doc_id": runtime.doc_id, "error": str(exc)})
            runtime.needs_sync = True
            runtime.publish(submissions, [Refused(p.seq, "internal", "could not commit: the"
                                                  " store is unavailable") for p in proposals])
            return
        self._apply(sequenced)
        runtime.publish(submissions, sequenced.outcomes)
        if not sequenced.ops:
            return
        metrics.COMMIT_SECONDS.observe(time.perf_counter() - started)
        metrics.COMMIT_BATCH_OPS.observe(len(sequenced.ops))
        if self._on_commit is not None:
            self._on_commit(runtime.doc_id, sequenced.ops)
        if runtime.head - runtime.last_snapshot >= self._snapshot_every_ops:
            await self._snapshot()

    async def _sequence(self, proposals: list[Proposal]) -> Sequenced:
        """Read what memory lacks, then decide the batch.

        One read, but two when a client memory does not know sends an op based before the
        history in memory: its mark comes first, and may show that the op cannot commit,
        so that no history is read for it.
        """
        runtime = self.runtime
        state = runtime.state
        plan = plan_read(state, proposals, runtime.history.first_version, runtime.known_seq)
        read: CommitRead | None = None
        if plan.from_version is not None and plan.clients:
            marks = await self.oplog.read_for_commit(runtime.doc_id, None, plan.clients, ())
            state.marks.update(marks.marks)
            plan = plan_read(state, proposals, runtime.history.first_version,
                             runtime.known_seq)
        if runtime.needs_sync or not plan.empty:
            runtime.needs_sync = False
            from_version = state.head if plan.from_version is None else plan.from_version
            read = await self.oplog.read_for_commit(runtime.doc_id, from_version,
                                                    plan.clients, plan.seqs)
            state.marks.update(read.marks)
            runtime.absorb(read.ops)
        oldest = transform_base(state, proposals, runtime.history.first_version)
        if runtime.history.covers(oldest):
            ops_since = runtime.history.since(oldest)
        elif read is not None and read.ops and read.ops[0].version <= oldest:
            ops_since = [op for op in read.ops if op.version >= oldest]
        else:  # a foreign batch longer than the history pushed the base out of memory
            ops_since = await self.oplog.read_ops(runtime.doc_id, oldest, state.head)
        found = read.seq_versions if read is not None else {}

        def seq_version(key: SeqKey) -> int | None:
            version = found.get(key)  # may be 0: not a truth test
            return runtime.known_seq(key) if version is None else version

        return sequence(state, proposals, ops_since, seq_version, time.time())

    async def _settle(self, ops: list[CommittedOp]) -> bool:
        """Whether an append of unknown outcome committed, read back by its dedup keys."""
        keys = [(op.user_id, op.client_id, op.seq) for op in ops]
        read = await self.oplog.read_for_commit(self.runtime.doc_id, None, (), keys)
        return all(read.seq_versions.get(key) == op.version for key, op in zip(keys, ops,
                                                                              strict=True))

    def _apply(self, sequenced: Sequenced) -> None:
        state = self.runtime.state
        state.content, state.head = sequenced.content, sequenced.head
        state.marks.update(sequenced.marks)
        state.answered.update(sequenced.answered)

    async def _snapshot(self) -> None:
        runtime = self.runtime
        version = runtime.head
        try:
            await self.oplog.save_snapshot(runtime.doc_id,
                                           Snapshot(version, runtime.content.to_delta()))
        except Unavailable as exc:  # a snapshot only saves replay time; the next one will do
            log.warning("snapshot failed", extra={"doc_id": runtime.doc_id, "error": str(exc)})
            return
        runtime.last_snapshot = version


def _events(submissions: list[Submission], sequenced: Sequenced) -> list[Event]:
    """Domain events that commit with the ops (ops themselves are relayed from the op log)."""
    events = []
    for submission, outcome in zip(submissions, sequenced.outcomes, strict=True):
        if submission.restore_from is not None and isinstance(outcome, Committed):
            op = outcome.op
            events.append(shapes.document_restored(op.doc_id, op.version,
                                                   submission.restore_from, op.created_at))
    return events
