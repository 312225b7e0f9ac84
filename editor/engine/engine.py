"""The engine: loads documents on demand, runs their committers, notices other processes' commits.

Committers run in the engine's own nursery, started by ``run`` when a document is first
opened, and stopped when the document has had no session for a while.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import trio

from editor import logs, metrics
from editor.config import Config
from editor.engine.document import DocumentRuntime
from editor.errors import CloseCode
from editor.store import Store

log = logs.get(__name__)
IDLE_UNLOAD_S = 60.0


@dataclass(eq=False)
class _OpenRequest:
    doc_id: str
    done: trio.Event
    runtime: DocumentRuntime | None = None
    failure: BaseException | None = None


class Engine:
    """Every document this process has loaded, by id."""

    def __init__(self, cfg: Config, store: Store) -> None:
        self.cfg = cfg
        self.store = store
        self.documents: dict[str, DocumentRuntime] = {}
        self._requests_in, self._requests = trio.open_memory_channel[_OpenRequest](64)
        self._loading: dict[str, _OpenRequest] = {}

    async def open(self, doc_id: str) -> DocumentRuntime:
        """The running runtime of a document, loading it if needed."""
        runtime = self.documents.get(doc_id)
        if runtime is not None:
            return runtime
        request = self._loading.get(doc_id)
        if request is None:
            request = self._loading[doc_id] = _OpenRequest(doc_id, trio.Event())
            await self._requests_in.send(request)
        await request.done.wait()
        if request.failure is not None:
            raise request.failure
        assert request.runtime is not None
        return request.runtime

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve open requests, poll the op log for foreign commits, unload idle documents."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._poll_op_log)
            task_status.started()
            async with self._requests:
                async for request in self._requests:
                    await self._load(nursery, request)

    async def _load(self, nursery: trio.Nursery, request: _OpenRequest) -> None:
        try:
            runtime = await DocumentRuntime.load(
                request.doc_id, self.store,
                history_ops=self.cfg.history_cache_ops,
                batch_max_ops=self.cfg.commit_batch_max_ops,
                snapshot_every_ops=self.cfg.snapshot_every_ops,
                queue_ops=self.cfg.commit_batch_max_ops,
            )
            await nursery.start(self._run_document, runtime)
            request.runtime = runtime
        except Exception as exc:  # reported to the waiting session, not fatal to the engine
            log.exception("could not load document", extra={"doc_id": request.doc_id})
            request.failure = exc
        finally:
            del self._loading[request.doc_id]
            request.done.set()

    async def _run_document(
        self, runtime: DocumentRuntime, *, task_status: trio.TaskStatus[None]
    ) -> None:
        self.documents[runtime.doc_id] = runtime
        metrics.DOCUMENTS_LOADED.inc()
        try:
            await runtime.run(task_status=task_status)
        finally:
            if self.documents.get(runtime.doc_id) is runtime:
                del self.documents[runtime.doc_id]
            metrics.DOCUMENTS_LOADED.dec()

    async def _poll_op_log(self) -> None:
        """Notice ops committed by other processes on the same store (the bus of last resort)."""
        interval = self.cfg.log_poll_interval_s
        if interval <= 0:
            return
        while True:
            await trio.sleep(interval)
            now = time.monotonic()
            for doc_id, runtime in list(self.documents.items()):
                if not runtime.sessions and now - runtime.idle_since > IDLE_UNLOAD_S:
                    del self.documents[doc_id]
                    await runtime.stop()
            watched = [doc_id for doc_id, rt in self.documents.items() if rt.sessions]
            for doc_id, head in (await self.store.heads(watched)).items():
                watched_runtime = self.documents.get(doc_id)
                if watched_runtime is not None and head > watched_runtime.head:
                    watched_runtime.request_sync()

    def set_role(self, doc_id: str, user_id: str, role: str | None) -> None:
        """Apply a membership change to open sessions."""
        runtime = self.documents.get(doc_id)
        if runtime is not None:
            runtime.set_role(user_id, role)

    def document_deleted(self, doc_id: str) -> None:
        """Close every session on a deleted document with 4404."""
        runtime = self.documents.get(doc_id)
        if runtime is not None:
            runtime.close_sessions(CloseCode.NOT_FOUND, "the document was deleted")

    async def stop(self) -> None:
        """Stop accepting loads and let every committer drain its queue."""
        await self._requests_in.aclose()
        for runtime in list(self.documents.values()):
            await runtime.stop()
