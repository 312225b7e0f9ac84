"""What the worker tests share: a SQLite store, documents with ops, deliveries, a clock."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import prometheus_client
import trio
import trio.testing

from editor.events import Delivery, Event
from editor.events.shapes import op_committed
from editor.store.records import CommittedOp
from editor.store.sqlite import SqliteStore

IDLE_CUSHION_S = 0.005  # real time every task must stay blocked before the clock moves


async def settle(clock: trio.testing.MockClock, done: Callable[[], bool], *,
                 step_s: float = 1.0, max_steps: int = 2000) -> None:
    """Run until ``done()``, moving the clock ``step_s`` whenever every task is blocked.

    The store runs in worker threads, which an autojump clock would take for idleness.
    """
    for _ in range(max_steps):
        if done():
            return
        await trio.testing.wait_all_tasks_blocked(IDLE_CUSHION_S)
        clock.jump(step_s)
    assert done(), f"not done after {max_steps} steps"


def metric(name: str, **labels: str) -> float:
    """The exported value of a sample (0 when absent)."""
    return prometheus_client.REGISTRY.get_sample_value(name, labels) or 0.0


async def new_document(store: SqliteStore, text: str = "") -> str:
    """A document whose content is ``text`` and a newline, at version 0."""
    owner = await store.create_user(f"owner-{time.monotonic_ns()}@example.com", "Owner", "h")
    return (await store.create_document(owner.id, "doc", [{"insert": text + "\n"}])).id


def typed(doc_id: str, version: int) -> CommittedOp:
    """The op at ``version`` that types ``"{version},"`` at the start."""
    return CommittedOp(doc_id, version, [{"insert": f"{version},"}], "u", "c", version + 1,
                       time.time())


async def commit(store: SqliteStore, doc_id: str, count: int) -> list[CommittedOp]:
    """Append ``count`` typed ops at the head; the ops."""
    head = await store.head(doc_id)
    ops = [typed(doc_id, version) for version in range(head, head + count)]
    await store.append(doc_id, ops)
    return ops


def content_after(versions: int, base: str = "") -> list[dict[str, Any]]:
    """The content of a ``new_document(base)`` after ``versions`` typed ops."""
    return [{"insert": "".join(f"{v}," for v in reversed(range(versions))) + base + "\n"}]


def event_of(op: CommittedOp) -> Event:
    """The ``op.committed`` event the relay publishes for ``op``."""
    return op_committed(op.doc_id, op.version, op.user_id, op.client_id, op.seq, op.delta,
                        at_s=op.created_at)


class Deliveries:
    """Deliveries on one partition with growing offsets, as a consumer would fetch them."""

    def __init__(self) -> None:
        self.offset = 0

    def __call__(self, events: Sequence[Event]) -> list[Delivery]:
        out = []
        for event in events:
            out.append(Delivery(event, 0, self.offset))
            self.offset += 1
        return out
