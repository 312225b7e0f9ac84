"""Prometheus metrics of the editor, named by Prometheus conventions."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from prometheus_client import Counter, Gauge, Histogram

from editor.errors import EditorError

P = ParamSpec("P")
T = TypeVar("T")

SESSIONS = Gauge("editor_sessions", "Open WebSocket sessions")
DOCUMENTS_LOADED = Gauge("editor_documents_loaded", "Documents held in memory by the engine")
OPS_COMMITTED = Counter("editor_ops_committed_total", "Ops appended to the op log")
OP_ERRORS = Counter("editor_op_errors_total", "Ops refused", ["code"])
COMMIT_CONFLICTS = Counter(
    "editor_commit_conflicts_total", "Group commits that lost the race for a version")
COMMIT_SECONDS = Histogram(
    "editor_commit_seconds", "Time from taking a batch to publishing it",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0))
COMMIT_BATCH_OPS = Histogram(
    "editor_commit_batch_ops", "Ops per group commit", buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256))
# PROTOCOL.md §6: buckets resolve 1 ms to 5 s.
LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
OP_ACK_SECONDS = Histogram(
    "editor_op_ack_seconds", "From receipt of an op to the send of its ack",
    buckets=LATENCY_BUCKETS)
FANOUT_SECONDS = Histogram(
    "editor_fanout_seconds", "From the commit of an op to the send of its frame to another"
    " session", buckets=LATENCY_BUCKETS)
BUS_MESSAGES = Counter(
    "editor_bus_messages_total", "Bus messages of loaded documents: published, unpublished"
    " (bus down), dropped (outbound queue full), received (from other replicas)", ["result"])
WS_CLOSES = Counter("editor_ws_closes_total", "WebSocket sessions closed", ["code"])
HTTP_REQUESTS = Counter(
    "editor_http_requests_total", "HTTP requests answered", ["method", "status"])
AUTH_EVENTS = Counter(
    "editor_auth_events_total", "Account events (register, login, refresh, verify, oidc,"
    " email) by outcome: ok, or the error code", ["event", "outcome"])


def counted(event: str) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T]]]:
    """Count each call of an async function in ``AUTH_EVENTS``: ok, or its error's code."""
    def wrap(fn: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        @functools.wraps(fn)
        async def counting(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                result = await fn(*args, **kwargs)
            except EditorError as exc:
                AUTH_EVENTS.labels(event, exc.code).inc()
                raise
            AUTH_EVENTS.labels(event, "ok").inc()
            return result
        return counting
    return wrap
