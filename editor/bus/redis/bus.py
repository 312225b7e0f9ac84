"""``Bus`` on Redis pub/sub: one channel per document, ``editor:{doc_id}``.

The hash tag keeps a document's channel and keys on one cluster slot; on a cluster the
channel is sharded (SPUBLISH/SSUBSCRIBE), so fan-out scales with the masters. Each message is
encoded once per publish and decoded once per receiving process, then handed to every local
subscriber of the document without waiting: a full subscriber queue loses the message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio
from prometheus_client import Counter
from redis.asyncio.cluster import RedisCluster

from editor import logs
from editor.bus.base import BusMessage, BusUnavailable
from editor.bus.codec import MessageDecodeError, decode_message, encode_message
from editor.bus.redis.connection import Client, Link, RedisDown
from editor.bus.redis.subscriber import Subscriber

log = logs.get(__name__)

BUS_DROPPED = Counter("editor_bus_dropped_total",
                      "Bus messages a local subscriber did not get", ["reason"])
# How long a publisher waits for its own message to come back to this process's subscribers
# of the document, so that they see it before publish returns, as on the embedded bus.
ECHO_WAIT_S = 1.0


def channel_name(doc_id: str) -> str:
    """The document's pub/sub channel, hash-tagged by its id."""
    return f"editor:{{{doc_id}}}"


async def _publish(client: Client, channel: str, raw: bytes) -> None:
    if isinstance(client, RedisCluster):
        await client.spublish(channel, raw)  # type: ignore[misc]
    else:
        await client.publish(channel, raw)


class RedisBus:
    """Per-document pub/sub over Redis; memory is at most subscribers × ``queue_size``."""

    def __init__(self, link: Link, *, queue_size: int) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, not {queue_size!r}")
        self._link = link
        self._queue_size = queue_size
        self._local: dict[str, set[trio.MemorySendChannel[BusMessage]]] = {}
        self._echoes: dict[str, list[tuple[bytes, trio.Event]]] = {}
        self.subscriber = Subscriber(link, self._deliver)

    async def publish(self, message: BusMessage) -> None:
        """Send ``message`` to the document's subscribers, at most once each.

        ``BusUnavailable`` at once while Redis is down (and within a second when it goes).
        """
        raw = encode_message(message)
        channel = channel_name(message.doc_id)
        echo = trio.Event() if self.subscriber.is_subscribed(channel) else None
        if echo is not None:
            self._echoes.setdefault(channel, []).append((raw, echo))
        try:
            await self._link.call(lambda client: _publish(client, channel, raw))
            if echo is not None:
                with trio.move_on_after(ECHO_WAIT_S):
                    await echo.wait()
        except RedisDown as exc:
            raise BusUnavailable(str(exc)) from exc
        finally:
            if echo is not None:
                self._forget_echo(channel, echo)

    @asynccontextmanager
    async def subscribe(self, doc_id: str) -> AsyncIterator[trio.MemoryReceiveChannel[BusMessage]]:
        """Receive the document's messages published after entering, until exit.

        Never fails: while Redis is down the channel is quiet, and it is subscribed again
        when Redis is back (consumers detect the versions they missed).
        """
        channel = channel_name(doc_id)
        send_channel, receive_channel = trio.open_memory_channel[BusMessage](self._queue_size)
        self._local.setdefault(channel, set()).add(send_channel)
        try:
            await self.subscriber.add(channel)
            async with receive_channel:
                yield receive_channel
        finally:
            senders = self._local[channel]
            senders.discard(send_channel)
            if not senders:
                del self._local[channel]
            send_channel.close()
            await self.subscriber.remove(channel)

    def _deliver(self, channel: str, raw: bytes) -> None:
        for raw_sent, echo in self._echoes.get(channel, ()):
            if raw_sent == raw and not echo.is_set():
                echo.set()  # set now, seen by its publisher only after the sends below
                break
        senders = self._local.get(channel)
        if senders:
            try:
                message = decode_message(raw)
            except MessageDecodeError as exc:
                BUS_DROPPED.labels("undecodable").inc()
                log.warning("bus message dropped", extra={"channel": channel, "reason": str(exc)})
                return
            for send_channel in senders:
                try:
                    send_channel.send_nowait(message)
                except (trio.WouldBlock, trio.BrokenResourceError):
                    BUS_DROPPED.labels("queue_full").inc()

    def _forget_echo(self, channel: str, echo: trio.Event) -> None:
        echoes = self._echoes[channel]
        echoes[:] = [entry for entry in echoes if entry[1] is not echo]
        if not echoes:
            del self._echoes[channel]
