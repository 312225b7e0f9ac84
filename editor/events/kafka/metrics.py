"""Prometheus metrics of the Kafka event stream."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

CONSUMER_LAG = Gauge(
    "editor_kafka_consumer_lag",
    "Events of a topic not yet committed by a consumer group (end offsets minus committed,"
    " summed over partitions)", ["group", "topic"])
EVENTS_PRODUCED = Counter(
    "editor_events_produced_total", "Events acknowledged by the Kafka brokers", ["topic"])
EVENTS_CONSUMED = Counter(
    "editor_events_consumed_total", "Events handed to a consumer of a group", ["group", "topic"])
