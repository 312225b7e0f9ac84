"""The distributed event stream: Kafka through aiokafka, on a trio-asyncio loop.

aiokafka is touched only inside this package. ``opened_kafka`` opens the loop, a producer
and an admin client, creates the §5 topics when missing, and stops every client on exit
(an aiokafka client left running crashes the loop's nursery).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from editor import aio, logs
from editor.events.kafka.bootstrap import bootstrap_servers, check_kafka_bootstrap
from editor.events.kafka.client import KAFKA_ERRORS, KafkaBridge, KafkaSettings
from editor.events.kafka.consumer import KafkaGroupConsumer
from editor.events.kafka.metrics import CONSUMER_LAG, EVENTS_CONSUMED, EVENTS_PRODUCED
from editor.events.kafka.stream import KafkaEventStream

log = logs.get(__name__)


@asynccontextmanager
async def opened_kafka(bootstrap: str, *, partitions: int, replication_factor: int,
                       client_id: str, session_timeout_ms: int = 10_000,
                       heartbeat_interval_ms: int = 3_000, request_timeout_ms: int = 15_000
                       ) -> AsyncIterator[KafkaEventStream]:
    """The stream on the brokers of ``bootstrap`` (``HOST:PORT[,HOST:PORT…]``), with the
    §5 topics; ``EventsUnavailable`` when they cannot be reached."""
    if partitions < 1 or replication_factor < 1:
        raise ValueError("partitions and replication_factor must be at least 1")
    settings = KafkaSettings(
        bootstrap_servers(bootstrap), client_id, partitions, replication_factor,
        session_timeout_ms=session_timeout_ms, heartbeat_interval_ms=heartbeat_interval_ms,
        request_timeout_ms=request_timeout_ms)
    try:
        async with aio.open_loop() as loop:
            bridge = KafkaBridge(loop, settings)
            async with _started_clients(bridge) as (producer, admin):
                stream = KafkaEventStream(bridge, producer, admin)
                await stream.ensure_topics()
                yield stream
    except BaseExceptionGroup as group:
        # The loop's own nurseries wrap whatever crosses them; callers get the error itself.
        sole = aio.sole_exception(group)
        if sole is None:
            raise
        raise sole from sole.__cause__


@asynccontextmanager
async def _started_clients(bridge: KafkaBridge
                           ) -> AsyncIterator[tuple[AIOKafkaProducer, AIOKafkaAdminClient]]:
    """A started producer and admin client, both stopped on exit (also after a failed start)."""
    settings = bridge.settings
    clients: list[AIOKafkaProducer | AIOKafkaAdminClient] = []

    async def start() -> tuple[AIOKafkaProducer, AIOKafkaAdminClient]:
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.bootstrap_servers, client_id=settings.client_id,
            acks="all", enable_idempotence=False,
            request_timeout_ms=settings.request_timeout_ms)
        clients.append(producer)
        admin = AIOKafkaAdminClient(
            bootstrap_servers=settings.bootstrap_servers, client_id=settings.client_id,
            request_timeout_ms=settings.request_timeout_ms)
        clients.append(admin)
        await producer.start()
        await admin.start()
        return producer, admin

    async def stop() -> None:
        for client in reversed(clients):
            try:
                await (client.stop() if isinstance(client, AIOKafkaProducer) else client.close())
            except KAFKA_ERRORS as exc:
                log.warning("kafka client stopped with an error", extra={
                    "client": type(client).__name__, "error": f"{type(exc).__name__}: {exc}"})

    try:
        yield await bridge.call("connect", start, deadline_s=settings.request_timeout_s)
    finally:
        with trio.CancelScope(shield=True):
            await bridge.call("disconnect", stop)


__all__ = [
    "CONSUMER_LAG", "EVENTS_CONSUMED", "EVENTS_PRODUCED", "KafkaEventStream",
    "KafkaGroupConsumer", "check_kafka_bootstrap", "opened_kafka",
]
