"""What every Kafka client of a stream shares: its settings, the bridge, topic creation.

aiokafka is an asyncio library: it runs on the stream's trio-asyncio loop and each whole
operation (a batch of sends, a fetch, a commit) is ONE bridged call. Broker and connection
failures come out of the bridge as ``EventsUnavailable``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import trio
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from editor import aio, logs
from editor.events.base import EventsUnavailable

T = TypeVar("T")
log = logs.get(__name__)

# What a failing broker or connection raises; aiokafka's own errors all derive KafkaError.
KAFKA_ERRORS = (KafkaError, OSError, TimeoutError)


@dataclass(frozen=True)
class KafkaSettings:
    """How a stream's clients reach the brokers and how long they wait for them."""

    bootstrap_servers: list[str]
    client_id: str
    partitions: int
    replication_factor: int
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    request_timeout_ms: int = 15_000

    @property
    def request_timeout_s(self) -> float:
        """The longest one bridged operation may take before it counts as failed."""
        return self.request_timeout_ms / 1000

    @property
    def join_timeout_s(self) -> float:
        """The longest a member may take to join its group: a join waits for the rebalance,
        which waits up to a session timeout for the other members to rejoin. Giving up
        sooner makes the member leave, which starts the next rebalance for the others."""
        return self.request_timeout_s + 2 * self.session_timeout_ms / 1000


class KafkaBridge:
    """Runs asyncio functions on the stream's loop and maps Kafka failures."""

    def __init__(self, loop: aio.TrioEventLoop, settings: KafkaSettings) -> None:
        self.loop = loop
        self.settings = settings

    async def call(self, what: str, fn: Callable[[], Awaitable[T]], *,
                   deadline_s: float | None = None) -> T:
        """Run ``fn`` in one bridged call; ``EventsUnavailable`` on a Kafka failure or
        when ``deadline_s`` passes."""
        try:
            with trio.fail_after(deadline_s if deadline_s is not None else float("inf")):
                return await aio.aio_as_trio(fn, loop=self.loop)()
        except trio.TooSlowError as exc:
            raise EventsUnavailable(f"kafka: {what} took longer than {deadline_s} s") from exc
        except KAFKA_ERRORS as exc:
            raise EventsUnavailable(f"kafka: {what}: {type(exc).__name__}: {exc}") from exc


async def create_missing_topics(admin: AIOKafkaAdminClient, topics: Sequence[str],
                                settings: KafkaSettings) -> list[str]:
    """Create those of ``topics`` the cluster lacks (asyncio side); the names created."""
    missing = sorted(set(topics) - set(await admin.list_topics()))
    if not missing:
        return []
    response = await admin.create_topics([
        NewTopic(name, settings.partitions, settings.replication_factor) for name in missing])
    for topic, error_code, *_ in response.topic_errors:
        error = for_code(error_code)
        # Another process may have created it since the listing: that is fine.
        if error_code and error is not TopicAlreadyExistsError:
            raise error(f"cannot create topic {topic}")
    log.info("kafka topics created", extra={
        "topics": ",".join(missing), "partitions": settings.partitions,
        "replication_factor": settings.replication_factor})
    return missing
