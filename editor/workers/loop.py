"""What the workers share: which offsets may be committed, backoff, and the consume loop.

A worker consumes a group's topics, keeps per-document state, and has effects (a snapshot
in the store, an object in the archive) that happen some time after an event arrives: at
a cadence of versions, or when the document has been idle. An event's offset is committed
only once the effect that covers it happened (``OffsetBook``), so a worker killed at any
moment resumes from its group's committed offsets and redoes, harmlessly, what it had
done but not committed.
"""

from __future__ import annotations

import math
import random
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import trio
from prometheus_client import Counter

from editor import logs
from editor.archive import ArchiveUnavailable
from editor.events.base import Delivery, EventConsumer, EventSource, EventsUnavailable
from editor.store.records import Unavailable

log = logs.get(__name__)

# What a worker waits out: the store, the archive or the stream cannot be reached.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (Unavailable, ArchiveUnavailable,
                                                 EventsUnavailable)
WORKER_PAUSES = Counter(
    "editor_worker_pauses_total", "Times a worker backed off: the store, the archive or the"
    " stream was unavailable, or it failed", ["group"])
_FIRST_BACKOFF_S = 0.5
_DOC_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # the document ids the WebSocket path accepts
# A worker with nothing due still looks at its timers this often.
_MAX_FETCH_WAIT_S = 5.0

TopicPartition = tuple[str, int]


@dataclass(eq=False)
class _Entry:
    delivery: Delivery
    doc_id: str | None
    version: int
    done: bool


class OffsetBook:
    """The deliveries taken but not committed, per partition in offset order.

    An entry is done once its effect happened; per partition, the done prefix may be
    committed. An entry that waits keeps every later offset of its partition uncommitted.
    """

    def __init__(self) -> None:
        self._partitions: dict[TopicPartition, deque[_Entry]] = {}
        self._waiting: dict[str, list[_Entry]] = {}
        self.size = 0

    def take(self, delivery: Delivery, doc_id: str | None = None, version: int = -1) -> None:
        """Record ``delivery``; it waits for ``settle(doc_id, …)`` unless ``doc_id`` is None."""
        entry = _Entry(delivery, doc_id, version, done=doc_id is None)
        self._partitions.setdefault(
            (delivery.event.topic, delivery.partition), deque()).append(entry)
        self.size += 1
        if doc_id is not None:
            self._waiting.setdefault(doc_id, []).append(entry)

    def settle(self, doc_id: str, below_version: float = math.inf) -> None:
        """Mark done the document's waiting entries of versions below ``below_version``."""
        waiting = self._waiting.get(doc_id, [])
        still: list[_Entry] = []
        for entry in waiting:
            if entry.version < below_version:
                entry.done = True
            else:
                still.append(entry)
        if still:
            self._waiting[doc_id] = still
        else:
            self._waiting.pop(doc_id, None)

    def oldest_waiting(self) -> str | None:
        """The document whose waiting entry holds back the most (the oldest head entry)."""
        for entries in self._partitions.values():
            for entry in entries:
                if not entry.done:
                    return entry.doc_id
        return None

    def committable(self) -> list[Delivery]:
        """Per partition, the last delivery of its done prefix (what ``commit`` wants)."""
        ready: list[Delivery] = []
        for entries in self._partitions.values():
            last: Delivery | None = None
            for entry in entries:
                if not entry.done:
                    break
                last = entry.delivery
            if last is not None:
                ready.append(last)
        return ready

    def committed(self, deliveries: Sequence[Delivery]) -> None:
        """Forget every entry at or below the committed ``deliveries``."""
        for delivery in deliveries:
            entries = self._partitions.get((delivery.event.topic, delivery.partition))
            while entries and entries[0].delivery.offset <= delivery.offset:
                entries.popleft()
                self.size -= 1


def op_committed_fields(delivery: Delivery) -> tuple[str, int, Any] | None:
    """``(doc_id, version, delta)`` of an ``op.committed`` event; None for any other event,
    and for a malformed one (logged: it is skipped, not retried forever)."""
    body = delivery.event.body
    if body.get("type") != "op.committed":
        return None
    doc_id, version, delta = body.get("doc_id"), body.get("version"), body.get("delta")
    if (isinstance(doc_id, str) and _DOC_ID.fullmatch(doc_id) and type(version) is int
            and version >= 0 and isinstance(delta, list)):
        return doc_id, version, delta
    log.error("malformed op.committed event skipped", extra={
        "topic": delivery.event.topic, "partition": delivery.partition,
        "offset": delivery.offset, "event_id": str(body.get("id"))})
    return None


class Backoff:
    """Exponential delays up to a cap, half of each random so workers do not retry in step."""

    def __init__(self, max_s: float, rng: random.Random | None = None) -> None:
        self.max_s = max_s
        self.failures = 0
        self._random = rng or random.Random()

    def next_delay_s(self) -> float:
        """Count a failure; the seconds to wait before the next try."""
        self.failures += 1
        cap_s = min(self.max_s, _FIRST_BACKOFF_S * 2 ** min(self.failures - 1, 30))
        return cap_s / 2 + self._random.uniform(0, cap_s / 2)


class Worker(Protocol):
    """A consumer group's logic; ``run_worker`` does the I/O with the stream."""

    group: str
    topics: tuple[str, ...]
    book: OffsetBook

    def take(self, deliveries: Sequence[Delivery], now_s: float) -> None:
        """Record fetched deliveries (no I/O, so nothing is half done on failure)."""

    def seconds_until_due(self, now_s: float) -> float:
        """How long until ``work`` has something to do (0: now)."""

    async def work(self, now_s: float) -> None:
        """Do what is due; raises a ``TRANSIENT_ERRORS`` member to be retried later."""


async def run_worker(worker: Worker, source: EventSource, *, stop: trio.Event | None = None,
                     fetch_max_events: int = 500, max_backoff_s: float = 30.0,
                     task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """Consume until ``stop`` (forever without one): fetch, take, work, commit what is done;
    back off while anything the worker needs is unavailable. Once ``stop`` is set, do
    everything still pending as if every timer had run out, commit, and return (callers
    bound that with a deadline). Start it with ``nursery.start``: it is started once it
    joined its group."""
    stopping = stop if stop is not None else trio.Event()
    backoff = Backoff(max_backoff_s)
    status: trio.TaskStatus[None] = task_status
    while True:
        try:
            async with source.consume(worker.group, worker.topics) as consumer:
                joined, status = status, trio.TASK_STATUS_IGNORED  # started once only
                await _consume(worker, consumer, stopping, backoff, fetch_max_events, joined)
            return
        except EventsUnavailable as exc:
            # Joining failed: the brokers are unreachable, or a killed member's session has
            # not expired yet. Join again later instead of ending the process.
            WORKER_PAUSES.labels(worker.group).inc()
            delay_s = backoff.next_delay_s()
            log.warning("worker could not join its group", extra={
                "group": worker.group, "error": str(exc), "failures": backoff.failures,
                "retry_in_s": round(delay_s, 3)})
            if stopping.is_set():
                return
            with trio.move_on_after(delay_s):
                await stopping.wait()


async def _consume(worker: Worker, consumer: EventConsumer, stopping: trio.Event,
                   backoff: Backoff, fetch_max_events: int,
                   task_status: trio.TaskStatus[None]) -> None:
    """The consume loop of one membership of the group, until ``stopping``."""
    async with trio.open_nursery() as nursery:
        fetching = trio.CancelScope()

        async def interrupt_fetch_on_stop() -> None:
            await stopping.wait()
            fetching.cancel()

        nursery.start_soon(interrupt_fetch_on_stop)
        log.info("worker started", extra={"group": worker.group,
                                          "topics": ",".join(worker.topics)})
        task_status.started()
        while True:
            try:
                if stopping.is_set():
                    await _flush(worker, consumer)
                    log.info("worker stopped", extra={"group": worker.group})
                    nursery.cancel_scope.cancel()
                    return
                wait_s = worker.seconds_until_due(trio.current_time())
                # Fetch only with nothing due: a worker that cannot do its work (the archive
                # is down) stops taking events instead of buffering without bound.
                if wait_s > 0:
                    fetching = trio.CancelScope(
                        deadline=trio.current_time() + min(wait_s, _MAX_FETCH_WAIT_S))
                    if stopping.is_set():
                        fetching.cancel()
                    with fetching:
                        deliveries = await consumer.fetch(fetch_max_events)
                        worker.take(deliveries, trio.current_time())
                else:
                    await trio.lowlevel.checkpoint()
                await worker.work(trio.current_time())
                await _commit(worker, consumer)
            except Exception as exc:
                # An outage is waited out; anything else is a bug, logged with its traceback
                # and retried the same way, so one worker never takes its process down.
                WORKER_PAUSES.labels(worker.group).inc()
                delay_s = backoff.next_delay_s()
                fields = {"group": worker.group, "error": f"{type(exc).__name__}: {exc}",
                          "failures": backoff.failures, "retry_in_s": round(delay_s, 3)}
                if isinstance(exc, TRANSIENT_ERRORS):
                    log.warning("worker paused", extra=fields)
                else:
                    log.exception("worker failed", extra=fields)
                await trio.sleep(delay_s)
                continue
            if backoff.failures:
                log.info("worker resumed", extra={"group": worker.group,
                                                  "failures": backoff.failures})
                backoff.failures = 0


async def _commit(worker: Worker, consumer: EventConsumer) -> None:
    ready = worker.book.committable()
    if ready:
        await consumer.commit(ready)
        worker.book.committed(ready)


async def _flush(worker: Worker, consumer: EventConsumer) -> None:
    """Everything pending now, as if every document had gone idle, then commit it."""
    await worker.work(math.inf)
    await _commit(worker, consumer)
