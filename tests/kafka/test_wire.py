"""What goes on the wire: §5 topics with the configured partitions, keys and JSON bodies as
a plain Kafka client reads them; and the check of ``EDITOR_KAFKA_BOOTSTRAP``."""

from __future__ import annotations

import json

import pytest
import trio
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from editor import aio
from editor.config_values import ConfigError
from editor.events import COLLABORATION_EVENTS, TOPICS, USER_EVENTS
from editor.events.kafka import check_kafka_bootstrap
from editor.events.shapes import op_committed, user_event
from tests.kafka.conftest import PARTITIONS, open_stream
from tests.support.kafka import TansuBroker

IO_DEADLINE_S = 10


async def read_raw(bootstrap: str, topic: str, count: int
                   ) -> tuple[dict[str, int], list[tuple[int, bytes | None, bytes | None]]]:
    """Partitions per §5 topic, and ``count`` records of ``topic`` as (partition, key, value),
    read by a plain aiokafka client."""
    async def read() -> tuple[dict[str, int], list[tuple[int, bytes | None, bytes | None]]]:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap,
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        try:
            await admin.start()
            described = await admin.describe_topics(list(TOPICS))
            partitions = {d["topic"]: len(d["partitions"]) for d in described}
            await consumer.start()
            records: list[tuple[int, bytes | None, bytes | None]] = []
            while len(records) < count:
                for tp, batch in (await consumer.getmany(timeout_ms=1000)).items():
                    records += [(tp.partition, r.key, r.value) for r in batch]
            return partitions, records
        finally:
            await consumer.stop()
            await admin.close()

    async with aio.open_loop() as loop:
        with trio.fail_after(IO_DEADLINE_S):
            return await aio.aio_as_trio(read, loop=loop)()


async def test_events_go_out_keyed_with_their_exact_bodies(broker: TansuBroker) -> None:
    events = [op_committed("doc-é", 7, "u1", "c1", 3, [{"insert": "hé 😀"}], at_s=1.5),
              user_event("user.registered", "u1", at_s=2.0),
              user_event("user.verified", "u1", at_s=3.0)]
    async with open_stream(broker.bootstrap) as stream:
        await stream.publish(events)
    partitions, records = await read_raw(broker.bootstrap, USER_EVENTS, 2)
    assert partitions == dict.fromkeys(TOPICS, PARTITIONS)
    assert [(key, value) for _, key, value in records] == [
        (b"u1", events[1].encode()), (b"u1", events[2].encode())]
    _, ops = await read_raw(broker.bootstrap, COLLABORATION_EVENTS, 1)
    assert [(key, value) for _, key, value in ops] == [("doc-é".encode(), events[0].encode())]
    assert json.loads(ops[0][2] or b"") == events[0].body
    assert "hé 😀".encode() in (ops[0][2] or b"")  # UTF-8 JSON, not \u escapes


async def test_existing_topics_are_kept(broker: TansuBroker) -> None:
    async with open_stream(broker.bootstrap) as stream:
        await stream.publish([user_event("user.signed_in", "u2", at_s=0.0)])
    async with open_stream(broker.bootstrap):
        pass
    _, records = await read_raw(broker.bootstrap, USER_EVENTS, 1)
    assert [key for _, key, _ in records] == [b"u2"]


@pytest.mark.parametrize("value", [
    "kafka:9092", "127.0.0.1:9092", "k1:9092,k2:9093,k3:9094", "[::1]:9092",
    "kafka-0.kafka.svc.cluster.local:9092"])
def test_a_bootstrap_list_is_accepted(value: str) -> None:
    check_kafka_bootstrap(value)


@pytest.mark.parametrize("value", [
    "", "kafka", "kafka:", ":9092", "kafka:0", "kafka:65536", "kafka:90x2", "kafka:9092,",
    "kafka:9092, k2:9092", "kafka://k:9092", "k k:9092", "::1:9092"])
def test_a_bad_bootstrap_names_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="EDITOR_KAFKA_BOOTSTRAP"):
        check_kafka_bootstrap(value)
