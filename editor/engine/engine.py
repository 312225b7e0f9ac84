"""The engine: loads documents on demand, runs their committers, and is the facade that the
WebSocket and REST layers call (submit, restore, content, presence, roles).

Committers run in the engine's own nursery, started by ``run`` when a document is first
opened, and stopped when the document has had no session for a while. Ops that other
processes commit arrive on the shared bus when there is one (``replicas.py``), and are
noticed by the store's commit notices where it has them (PostgreSQL LISTEN/NOTIFY) and by
polling the op log's heads (the bus of last resort).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import trio

from editor import logs, metrics, ot
from editor.bus import PresenceEntry, SharedBus, SnapshotCache
from editor.config import Config
from editor.engine.committer import CommitListener, Committer
from editor.engine.document import DocumentRuntime, Submission, Waiter
from editor.engine.replay import content_at, remember
from editor.engine.replicas import SharedDocument, shared_presence
from editor.engine.sequencer import AlreadyCommitted, Committed, Outcome, Proposal
from editor.errors import CloseCode, NotFound, error_for_code
from editor.store.protocols import OpLog
from editor.store.records import CommittedOp, Unavailable

log = logs.get(__name__)
IDLE_UNLOAD_S = 60.0


@dataclass(frozen=True)
class OpenDocument:
    """A loaded document: its state and sessions, the committer that changes them, and its
    link to the other replicas (when they share a bus)."""

    runtime: DocumentRuntime
    committer: Committer
    shared: SharedDocument | None = None


@dataclass(eq=False)
class _OpenRequest:
    doc_id: str
    done: trio.Event
    document: OpenDocument | None = None
    failure: BaseException | None = None


class Engine:
    """Every document this process has loaded, by id."""

    def __init__(self, cfg: Config, oplog: OpLog, on_commit: CommitListener | None = None, *,
                 shared: SharedBus | None = None, cache: SnapshotCache | None = None) -> None:
        self.cfg = cfg
        self.oplog = oplog
        self.documents: dict[str, OpenDocument] = {}
        self._on_commit = on_commit
        self._shared = shared
        self._cache = cache
        self._requests_in, self._requests = trio.open_memory_channel[_OpenRequest](64)
        self._loading: dict[str, _OpenRequest] = {}

    async def open(self, doc_id: str) -> OpenDocument:
        """The loaded document, loading it if needed."""
        document = self.documents.get(doc_id)
        if document is not None:
            return document
        request = self._loading.get(doc_id)
        if request is None:
            request = self._loading[doc_id] = _OpenRequest(doc_id, trio.Event())
            await self._requests_in.send(request)
        await request.done.wait()
        if request.failure is not None:
            raise request.failure
        assert request.document is not None
        return request.document

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve open requests, poll the op log for foreign commits, unload idle documents."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._poll_op_log)
            nursery.start_soon(self.oplog.follow_commits, self._foreign_commit)
            task_status.started()
            async with self._requests:
                async for request in self._requests:
                    await self._load(nursery, request)

    async def _load(self, nursery: trio.Nursery, request: _OpenRequest) -> None:
        try:
            runtime = await DocumentRuntime.load(request.doc_id, self.oplog,
                                                 history_ops=self.cfg.history_cache_ops,
                                                 cache=self._cache)
            listeners: list[CommitListener] = [self._on_commit] if self._on_commit else []
            committer = Committer(runtime, self.oplog,
                                  batch_max_ops=self.cfg.commit_batch_max_ops,
                                  snapshot_every_ops=self.cfg.snapshot_every_ops,
                                  queue_ops=self.cfg.commit_batch_max_ops,
                                  on_commit=partial(_tell_all, listeners))
            shared = None
            if self._shared is not None:
                shared = SharedDocument(runtime, committer, self._shared.bus,
                                        self._shared.presence, self._shared.origin)
                listeners.append(lambda _doc_id, ops: shared.committed(ops))
            document = OpenDocument(runtime, committer, shared)
            await nursery.start(self._run_document, document)
            request.document = document
        except Exception as exc:  # reported to the waiting session, not fatal to the engine
            log.exception("could not load document", extra={"doc_id": request.doc_id})
            request.failure = exc
        finally:
            del self._loading[request.doc_id]
            request.done.set()

    async def _run_document(self, document: OpenDocument, *,
                            task_status: trio.TaskStatus[None]) -> None:
        doc_id = document.runtime.doc_id
        self.documents[doc_id] = document
        metrics.DOCUMENTS_LOADED.inc()
        try:
            async with trio.open_nursery() as nursery:
                if document.shared is not None:
                    await nursery.start(document.shared.run)
                await document.committer.run(task_status=task_status)
                nursery.cancel_scope.cancel()
        finally:
            if self.documents.get(doc_id) is document:
                del self.documents[doc_id]
            metrics.DOCUMENTS_LOADED.dec()
            if self._cache is not None:  # the next load, here or on another replica, is short
                runtime = document.runtime
                with trio.CancelScope(shield=True), trio.move_on_after(1):
                    await remember(self._cache, doc_id, runtime.head, runtime.content)

    async def _poll_op_log(self) -> None:
        """Notice ops committed by other processes on the same store (the bus of last resort)."""
        interval = self.cfg.log_poll_interval_s
        if interval <= 0:
            return
        while True:
            await trio.sleep(interval)
            now = time.monotonic()
            for doc_id, document in list(self.documents.items()):
                runtime = document.runtime
                if not runtime.sessions and now - runtime.idle_since > IDLE_UNLOAD_S:
                    del self.documents[doc_id]
                    await document.committer.stop()
            watched = [doc_id for doc_id, d in self.documents.items() if d.runtime.sessions]
            try:
                heads = await self.oplog.heads(watched)
            except Unavailable as exc:
                # The database is away (a failover, say): commits fail on their own and the
                # next poll catches up. Letting this escape ended the whole process.
                log.warning("op log poll failed", extra={"error": str(exc)})
                continue
            for doc_id, head in heads.items():
                watched_document = self.documents.get(doc_id)
                if watched_document is not None and head > watched_document.runtime.head:
                    watched_document.committer.request_sync()

    def _foreign_commit(self, doc_id: str, head: int) -> None:
        """Another process committed: read its ops if the document is loaded and behind."""
        document = self.documents.get(doc_id)
        if document is not None and head > document.runtime.head:
            document.committer.request_sync()

    # -- the facade for REST

    async def propose(self, doc_id: str, user_id: str, version: int, delta: Any, *,
                      restore_from: int | None = None) -> int:
        """Commit one op as ``user_id`` (outside any session); the version it took.

        Raises the ``EditorError`` of the refusal (``invalid_op``, ``too_large``, …).
        """
        document = await self.open(doc_id)
        proposal = Proposal(user_id, f"rest-{uuid.uuid4().hex}", 1, version, delta)
        waiter = Waiter()
        await document.committer.submit(Submission(proposal, waiter, restore_from))
        await waiter.done.wait()
        return _version_of(waiter.outcome)

    async def restore(self, doc_id: str, user_id: str, version: int) -> int:
        """Commit one op that makes the content equal to ``version``'s; the op's version."""
        document = await self.open(doc_id)
        runtime = document.runtime
        if version > runtime.head:
            raise NotFound(f"version {version} does not exist yet")
        _, old_content = await content_at(self.oplog, doc_id, version)
        base = runtime.head
        delta = ot.diff(runtime.content.to_delta(), old_content.to_delta())
        return await self.propose(doc_id, user_id, base, delta, restore_from=version)

    async def content(self, doc_id: str, version: int | None = None
                      ) -> tuple[int, list[dict[str, Any]]]:
        """The content at ``version`` (the head when ``None``) and that version."""
        document = self.documents.get(doc_id)
        if version is None and document is not None:
            runtime = document.runtime
            # Another process sharing the store may be ahead of this copy: the op log decides.
            if runtime.head == await self.oplog.head(doc_id):
                return runtime.head, runtime.content.to_delta()
        at, content = await content_at(self.oplog, doc_id, version)
        return at, content.to_delta()

    async def presence(self, doc_id: str) -> list[PresenceEntry]:
        """The open sessions of the document, on every replica, with their cursors."""
        document = self.documents.get(doc_id)
        local = [] if document is None else [
            PresenceEntry(c.client_id, c.user, c.index, c.length, c.version)
            for c in document.runtime.local_cursors()]
        if self._shared is None:
            return sorted(local, key=lambda e: e.client_id)
        return await shared_presence(self._shared.presence, doc_id, local)

    def set_role(self, doc_id: str, user_id: str, role: str | None) -> None:
        """Apply a membership change to open sessions."""
        document = self.documents.get(doc_id)
        if document is not None:
            document.runtime.set_role(user_id, role)

    def document_deleted(self, doc_id: str) -> None:
        """Close every session on a deleted document with 4404."""
        document = self.documents.get(doc_id)
        if document is not None:
            document.runtime.close_sessions(CloseCode.NOT_FOUND, "the document was deleted")

    async def stop(self) -> None:
        """Stop accepting loads and let every committer drain its queue."""
        await self._requests_in.aclose()
        for document in list(self.documents.values()):
            await document.committer.stop()


def _tell_all(listeners: list[CommitListener], doc_id: str, ops: Sequence[CommittedOp]
              ) -> None:
    for listener in listeners:
        listener(doc_id, ops)


def _version_of(outcome: Outcome | None) -> int:
    if isinstance(outcome, Committed):
        return outcome.op.version
    if isinstance(outcome, AlreadyCommitted):
        return outcome.version
    assert outcome is not None
    raise error_for_code(outcome.code, outcome.message)



