"""The outbox relay: drains the store's outbox and op log to the event stream, at least once.

Domain events wait in the outbox table, written in the transaction of their change; for
``collaboration-events`` the op log itself is the outbox, with a per-document mark of how
far it was relayed. The relay publishes first and marks second, so a crash or an outage
between the two repeats events (with the same ids) and never loses one. While the stream
or the store is down it backs off with jitter and resumes where the marks say. Of the
processes that run a relay on one store, the holder of a lease (``claim_relay``) drains.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Sequence
from typing import NoReturn, Protocol

import trio
from prometheus_client import Gauge

from editor import logs
from editor.events import shapes
from editor.events.base import EventSink, EventsUnavailable
from editor.store.protocols import Outbox
from editor.store.records import CommittedOp, Unavailable

log = logs.get(__name__)

OUTBOX_PENDING = Gauge(
    "editor_outbox_pending", "Events not yet published to the stream: outbox rows, and"
    " committed ops not yet relayed to collaboration-events (the op log is their outbox)")
_FIRST_BACKOFF_S = 0.5
# One relay drains at a time; it renews the lease every pass (at most idle_poll_s apart).
# Another takes over this long after the holder's last pass (a holder that died).
LEASE_S = 15.0
# The op backlog counted into the gauge covers at most this many documents (a lower bound
# past it): the gauge is for alerts, not for accounting.
_PENDING_COUNT_DOCUMENTS = 10_000


class RelayStore(Outbox, Protocol):
    """What the relay reads: the outbox and the op log's ops (any full ``Store`` has both)."""

    async def read_ops(self, doc_id: str, from_version: int, to_version: int
                       ) -> list[CommittedOp]:
        """Committed ops with ``from_version <= version < to_version``, in order."""


class OutboxRelay:
    """Publishes outbox events and committed ops in commit order, then marks them relayed."""

    def __init__(self, store: RelayStore, sink: EventSink, *, batch_events: int = 500,
                 idle_poll_s: float = 1.0, max_backoff_s: float = 30.0,
                 holder: str | None = None) -> None:
        if batch_events < 1 or idle_poll_s <= 0 or max_backoff_s <= 0:
            raise ValueError("batch_events, idle_poll_s and max_backoff_s must be positive")
        self._store = store
        self._holder = holder or uuid.uuid4().hex
        self._sink = sink
        self._batch_events = batch_events
        self._idle_poll_s = idle_poll_s
        self._max_backoff_s = max_backoff_s
        self._woken = trio.Event()
        self._random = random.Random()

    def wake(self) -> None:
        """Ask for a pass now: something was committed."""
        self._woken.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                  ) -> NoReturn:
        """Relay forever; start it with ``nursery.start``."""
        task_status.started()
        failures = 0
        while True:
            # A fresh event before the pass: a wake() during it means another pass.
            self._woken = trio.Event()
            try:
                if await self._store.claim_relay(self._holder, LEASE_S, time.time()):
                    await self.relay_pending()
            except (EventsUnavailable, Unavailable) as exc:
                failures += 1
                delay_s = self._backoff_s(failures)
                log.warning("relay paused", extra={
                    "error": f"{type(exc).__name__}: {exc}", "failures": failures,
                    "retry_in_s": round(delay_s, 3)})
                await self._update_pending()
                await trio.sleep(delay_s)
                continue
            if failures:
                log.info("relay resumed", extra={"failures": failures})
                failures = 0
            await self._update_pending()
            with trio.move_on_after(self._idle_poll_s):
                await self._woken.wait()

    async def relay_pending(self) -> None:
        """One pass: publish everything pending in the outbox and the op log, then mark it."""
        await self._relay_outbox()
        await self._relay_ops()

    async def _relay_outbox(self) -> None:
        while True:
            entries = await self._store.outbox_pending(self._batch_events)
            if not entries:
                return
            await self._sink.publish(
                [shapes.Event(entry.topic, entry.key, entry.body) for entry in entries])
            await self._store.outbox_published(entries[-1].position)
            if len(entries) < self._batch_events:
                return

    async def _relay_ops(self) -> None:
        while True:
            behind = await self._store.ops_unrelayed(self._batch_events)
            # One mark transaction per pass, not per document: a failure before it only
            # means the pass is published again (at least once).
            marks = {doc_id: await self._relay_document(doc_id, relayed, head)
                     for doc_id, relayed, head in behind}
            await self._store.ops_relayed(marks)
            if len(behind) < self._batch_events:
                return

    async def _relay_document(self, doc_id: str, relayed: int, head: int) -> int:
        """Publish ``op.committed`` for the document's ops from ``relayed`` to ``head``;
        the version reached."""
        version = relayed
        while version < head:
            ops = await self._store.read_ops(
                doc_id, version, min(version + self._batch_events, head))
            contiguous = _contiguous_from(ops, version)
            if not contiguous:
                # The log says the ops exist but did not return them: never skip a version.
                raise Unavailable(f"op log of {doc_id} returned no op at version {version}")
            await self._sink.publish([
                shapes.op_committed(op.doc_id, op.version, op.user_id, op.client_id, op.seq,
                                    op.delta, at_s=op.created_at)
                for op in contiguous])
            version = contiguous[-1].version + 1
        return version

    async def _update_pending(self) -> None:
        # Ops are most of the events: without them a broker outage during edits left the
        # gauge (and the OutboxBacklog alert) at 0 while the backlog grew.
        try:
            behind = await self._store.ops_unrelayed(_PENDING_COUNT_DOCUMENTS)
            ops = sum(head - relayed for _, relayed, head in behind)
            OUTBOX_PENDING.set(await self._store.outbox_size() + ops)
        except Unavailable:
            log.debug("outbox size unknown: store unavailable")

    def _backoff_s(self, failures: int) -> float:
        """Exponential up to the cap, half of it random so relays do not retry in step."""
        cap_s = min(self._max_backoff_s, _FIRST_BACKOFF_S * 2 ** min(failures - 1, 30))
        return cap_s / 2 + self._random.uniform(0, cap_s / 2)


def _contiguous_from(ops: Sequence[CommittedOp], version: int) -> list[CommittedOp]:
    """The ops that continue the log from ``version`` without a gap."""
    run: list[CommittedOp] = []
    for op in ops:
        if op.version != version + len(run):
            break
        run.append(op)
    return run
