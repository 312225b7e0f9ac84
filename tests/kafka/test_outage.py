"""The broker goes away: publishing fails fast with ``EventsUnavailable``, never hangs, and
works again once a broker is back, even one that lost every topic."""

from __future__ import annotations

import time

import pytest
import trio

from editor.events import DOCUMENT_EVENTS, Delivery, Event, EventsUnavailable
from editor.events.shapes import document_changed
from tests.kafka.conftest import REQUEST_TIMEOUT_MS, open_stream
from tests.support.kafka import TansuBroker
from tests.support.servers import free_port

# An operation may take one request timeout before it counts as failed; then some slack.
OUTAGE_BOUND_S = REQUEST_TIMEOUT_MS / 1000 + 3


def updated(doc_id: str, n: int) -> Event:
    """A ``document.updated`` event of ``doc_id`` numbered ``n``."""
    return document_changed("document.updated", doc_id, "owner", f"title {n}", at_s=0.0)


async def test_publish_to_a_killed_broker_raises_within_the_bound(broker: TansuBroker) -> None:
    async with open_stream(broker.bootstrap) as stream:
        with trio.fail_after(OUTAGE_BOUND_S):
            await stream.publish([updated("d1", 0)])
        broker.kill()
        started = time.monotonic()
        with trio.fail_after(OUTAGE_BOUND_S), pytest.raises(EventsUnavailable):
            await stream.publish([updated("d1", n) for n in range(1, 20)])
        assert time.monotonic() - started < OUTAGE_BOUND_S
        with trio.fail_after(OUTAGE_BOUND_S), pytest.raises(EventsUnavailable):
            await stream.publish([updated("d1", 20)])


async def test_opening_without_a_broker_raises_events_unavailable() -> None:
    with trio.fail_after(OUTAGE_BOUND_S), pytest.raises(EventsUnavailable):
        async with open_stream(f"127.0.0.1:{free_port()}"):
            pytest.fail("opened a stream with no broker")


async def test_publishing_resumes_on_a_broker_that_came_back_empty(
        broker: TansuBroker) -> None:
    async with open_stream(broker.bootstrap) as stream:
        await stream.publish([updated("d1", 0)])
        broker.kill()
        retried = [updated("d1", n) for n in (1, 2)]
        with trio.fail_after(OUTAGE_BOUND_S), pytest.raises(EventsUnavailable):
            await stream.publish(retried)
        broker.start()  # same port, no topics, no groups
        with trio.fail_after(4 * OUTAGE_BOUND_S):
            while True:
                try:
                    await stream.publish(retried)
                    break
                except EventsUnavailable:
                    await trio.sleep(0.2)  # the relay's backoff, shortened
        async with stream.consume("after-restart", [DOCUMENT_EVENTS]) as consumer:
            got: list[Delivery] = []
            with trio.fail_after(OUTAGE_BOUND_S):
                while len(got) < len(retried):
                    got += await consumer.fetch(10)
        # As the relay does, the same events were published again: the first appearances
        # come in order, and a send the failed publish left behind may repeat some.
        first_seen = list(dict.fromkeys(d.event.id for d in got))
        assert first_seen == [e.id for e in retried]


async def test_a_consumer_leaves_a_killed_broker_within_the_bound(broker: TansuBroker) -> None:
    async with open_stream(broker.bootstrap) as stream:
        with trio.fail_after(OUTAGE_BOUND_S):
            async with stream.consume("orphaned", [DOCUMENT_EVENTS]):
                broker.kill()
