"""Fixtures of the Kafka adapter's own tests: a private Tansu broker per test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager

import pytest

from editor.events.kafka import KafkaEventStream, opened_kafka
from tests.support.kafka import (
    TEST_HEARTBEAT_INTERVAL_MS,
    TEST_SESSION_TIMEOUT_MS,
    TansuBroker,
    running_broker,
)

PARTITIONS = 4
REQUEST_TIMEOUT_MS = 2_000  # short, so an outage shows within the tests' deadlines


def open_stream(bootstrap: str, client_id: str = "test"
                ) -> AbstractAsyncContextManager[KafkaEventStream]:
    """The stream on ``bootstrap`` with the tests' short timeouts."""
    return opened_kafka(bootstrap, partitions=PARTITIONS, replication_factor=1,
                        client_id=client_id, session_timeout_ms=TEST_SESSION_TIMEOUT_MS,
                        heartbeat_interval_ms=TEST_HEARTBEAT_INTERVAL_MS,
                        request_timeout_ms=REQUEST_TIMEOUT_MS)


@pytest.fixture
def broker() -> Iterator[TansuBroker]:
    """A fresh broker for this test."""
    with running_broker() as started:
        yield started
