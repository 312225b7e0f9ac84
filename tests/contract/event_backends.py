"""Fixtures that run the events and archive contracts against every backend of those seams.

A backend joins by adding its name to ``EVENT_BACKENDS`` / ``ARCHIVE_BACKENDS`` and an
opener to ``_EVENT_OPENERS`` / ``_ARCHIVE_OPENERS``; every contract test then runs on it.
Test modules import the fixtures they use from here (``*_fixture``; pytest knows them
by the name without the suffix, so a test's argument does not shadow the import).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trio
import trio.testing

from editor.archive import Archive, LocalArchive
from editor.archive.s3 import opened_s3_archive
from editor.events import COLLABORATION_EVENTS, DOCUMENT_EVENTS, EventSink, EventSource
from editor.events.kafka import opened_kafka
from editor.events.memory import MemoryEventStream
from tests.support import s3
from tests.support.kafka import TEST_HEARTBEAT_INTERVAL_MS, TEST_SESSION_TIMEOUT_MS, running_broker

EVENT_BACKENDS = ["memory", "kafka"]
ARCHIVE_BACKENDS = ["local", "s3"]
RETAINED_EVENTS = 16  # per partition, in the retention test's stream
KAFKA_PARTITIONS = 4
# A broker answers in real time: on a test's virtual clock, Kafka gets one that runs this
# many times faster than real time instead of jumping past the broker's answers.
KAFKA_VIRTUAL_RATE = 8.0
KAFKA_REQUEST_TIMEOUT_MS = 60_000  # virtual: a group join takes ~1 s of real time


@dataclass(frozen=True)
class StreamUnderTest:
    """One event-stream backend: its two seams and names fresh for this test."""

    sink: EventSink
    source: EventSource
    topic: str
    other_topic: str
    retained_per_partition: int | None  # None: the backend bounds retention otherwise
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def group(self, name: str) -> str:
        """A consumer group name no earlier test used."""
        return f"{name}-{self.run_id}"


@asynccontextmanager
async def open_memory_stream(retained: int | None) -> AsyncIterator[StreamUnderTest]:
    """The embedded stream, fresh for each test."""
    stream = MemoryEventStream(partitions=8, max_events_per_partition=retained or 100_000)
    yield StreamUnderTest(stream, stream, COLLABORATION_EVENTS, DOCUMENT_EVENTS, retained)


@asynccontextmanager
async def open_kafka_stream(retained: int | None) -> AsyncIterator[StreamUnderTest]:
    """A private Tansu broker for each test; Kafka bounds retention by time, not count."""
    clock = trio.lowlevel.current_clock()
    if isinstance(clock, trio.testing.MockClock):
        clock.autojump_threshold = math.inf
        clock.rate = KAFKA_VIRTUAL_RATE
    with running_broker() as broker:
        async with opened_kafka(
                broker.bootstrap, partitions=KAFKA_PARTITIONS, replication_factor=1,
                client_id="contract", session_timeout_ms=TEST_SESSION_TIMEOUT_MS,
                heartbeat_interval_ms=TEST_HEARTBEAT_INTERVAL_MS,
                request_timeout_ms=KAFKA_REQUEST_TIMEOUT_MS) as stream:
            yield StreamUnderTest(stream, stream, COLLABORATION_EVENTS, DOCUMENT_EVENTS, None)


_EVENT_OPENERS: dict[str, Callable[[int | None], AbstractAsyncContextManager[StreamUnderTest]]] = {
    "memory": open_memory_stream,
    "kafka": open_kafka_stream,
}


@pytest.fixture(name="event_stream", params=EVENT_BACKENDS)
async def event_stream_fixture(request: pytest.FixtureRequest) -> AsyncIterator[StreamUnderTest]:
    """Each event-stream backend in turn, with room for every test's events."""
    async with _EVENT_OPENERS[request.param](None) as opened:
        yield opened


@pytest.fixture(name="small_event_stream", params=EVENT_BACKENDS)
async def small_event_stream_fixture(
        request: pytest.FixtureRequest) -> AsyncIterator[StreamUnderTest]:
    """Each backend keeping only ``RETAINED_EVENTS`` per partition, where it can be told so."""
    async with _EVENT_OPENERS[request.param](RETAINED_EVENTS) as opened:
        if opened.retained_per_partition is None:
            pytest.skip(f"{request.param} does not bound retention by event count")
        yield opened


@dataclass(frozen=True)
class ArchiveUnderTest:
    """One archive backend, and the folder around it when it is local (to find strays)."""

    archive: Archive
    surroundings: Path | None


@asynccontextmanager
async def open_local_archive(session: pytest.Session, tmp_path: Path
                             ) -> AsyncIterator[ArchiveUnderTest]:
    """The embedded archive in a folder of its own, inside a folder that must stay empty."""
    yield ArchiveUnderTest(LocalArchive(tmp_path / "data" / "archive"), tmp_path / "data")


@asynccontextmanager
async def open_s3_archive(session: pytest.Session, tmp_path: Path
                          ) -> AsyncIterator[ArchiveUnderTest]:
    """A bucket of its own on the session's moto server."""
    server = await trio.to_thread.run_sync(s3.session_moto, session)
    async with opened_s3_archive(server.endpoint, s3.ACCESS_KEY, s3.SECRET_KEY,
                                 s3.fresh_bucket(), s3.REGION) as archive:
        yield ArchiveUnderTest(archive, None)


_ARCHIVE_OPENERS: dict[
    str, Callable[[pytest.Session, Path], AbstractAsyncContextManager[ArchiveUnderTest]]] = {
    "local": open_local_archive,
    "s3": open_s3_archive,
}


@pytest.fixture(name="archive_backend", params=ARCHIVE_BACKENDS)
async def archive_backend_fixture(request: pytest.FixtureRequest,
                          tmp_path: Path) -> AsyncIterator[ArchiveUnderTest]:
    """Each archive backend in turn, empty."""
    async with _ARCHIVE_OPENERS[request.param](request.session, tmp_path) as opened:
        yield opened
