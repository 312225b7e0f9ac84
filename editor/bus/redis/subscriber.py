"""The process's one pub/sub reader: every subscribed channel, whatever the document count.

A session is one connected period: a pub/sub connection to the node (to every master of a
cluster, for sharded pub/sub), every wanted channel subscribed, a reader per connection handing
messages to ``deliver``. When a connection fails, a server drops a subscription (a slot moved)
or any adapter declares Redis down, the session ends and the next opens after a backoff
(0.1 s doubling to 5 s), subscribing every wanted channel again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

import trio
from redis.asyncio.client import PubSub

from editor.bus.redis.connection import Link, RedisDown

MIN_BACKOFF_S = 0.1
MAX_BACKOFF_S = 5.0
# A subscriber waits this long for Redis to confirm its subscription, then goes on regardless
# (pub/sub is at-most-once; consumers detect the gap).
SUBSCRIBE_WAIT_S = 1.0

_DATA = ("message", "smessage")
_SUBSCRIBED = ("subscribe", "ssubscribe")
_UNSUBSCRIBED = ("unsubscribe", "sunsubscribe")


class _Wanted:
    """A channel's local subscription count, and whether this session has it subscribed."""

    def __init__(self) -> None:
        self.count = 0
        self.subscribed = trio.Event()


class Subscriber:
    """Subscribes channels while they are wanted and reads them, reconnecting by itself."""

    def __init__(self, link: Link, deliver: Callable[[str, bytes], None]) -> None:
        self._link = link
        self._deliver = deliver
        self._wanted: dict[str, _Wanted] = {}
        self._session: _Session | None = None
        self._unsubscribing: Counter[str] = Counter()  # sent, not yet confirmed
        self._lock = trio.Lock()  # one (un)subscribe command at a time, in order

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
                  ) -> None:
        """Keep a session open for ever; ``started`` once the first attempt is over."""
        backoff_s = MIN_BACKOFF_S
        while True:
            try:
                async with trio.open_nursery() as nursery:
                    session = _Session(self._link, nursery, self._on_message)
                    try:
                        await self._open(session)
                        backoff_s = MIN_BACKOFF_S
                        task_status.started()
                        task_status = trio.TASK_STATUS_IGNORED
                        await self._link.health.wait_down()
                        nursery.cancel_scope.cancel()
                    finally:
                        self._end(session)
                        await session.close()
            except Exception as exc:  # a reader's RedisDown, inside the nursery's group
                self._link.health.mark_down(_first_leaf(exc))
            task_status.started()
            task_status = trio.TASK_STATUS_IGNORED
            await trio.sleep(backoff_s)
            backoff_s = min(backoff_s * 2, MAX_BACKOFF_S)

    def is_subscribed(self, channel: str) -> bool:
        """Whether Redis confirmed ``channel``'s subscription in the current session."""
        wanted = self._wanted.get(channel)
        return self._session is not None and wanted is not None and wanted.subscribed.is_set()

    async def add(self, channel: str) -> None:
        """Want ``channel`` once more; return once subscribed (or after a bounded wait)."""
        wanted = self._wanted.get(channel)
        if wanted is None:
            wanted = self._wanted[channel] = _Wanted()
        wanted.count += 1
        session = self._session
        if session is None:
            return  # degraded: the next session subscribes it
        with trio.move_on_after(SUBSCRIBE_WAIT_S):
            if wanted.count == 1:
                try:
                    async with self._lock:
                        await session.subscribe([channel])
                except RedisDown as exc:
                    self._link.health.mark_down(exc)
                    return
            await wanted.subscribed.wait()

    async def remove(self, channel: str) -> None:
        """Want ``channel`` once less; unsubscribe it when nobody here wants it."""
        wanted = self._wanted[channel]
        wanted.count -= 1
        if wanted.count:
            return
        del self._wanted[channel]
        session = self._session
        if session is None:
            return
        with trio.move_on_after(SUBSCRIBE_WAIT_S) as scope:
            scope.shield = True  # also when the subscriber leaves by cancellation
            try:
                async with self._lock:
                    if channel not in self._wanted and self._session is session:
                        self._unsubscribing[channel] += 1
                        await session.unsubscribe([channel])
            except RedisDown as exc:
                self._link.health.mark_down(exc)

    async def _open(self, session: _Session) -> None:
        await session.open()
        self._session = session
        self._unsubscribing.clear()
        async with self._lock:
            await session.subscribe(list(self._wanted))
        self._link.health.mark_up()

    def _end(self, session: _Session) -> None:
        if self._session is session:
            self._session = None
        for wanted in self._wanted.values():
            wanted.subscribed.set()  # release waiters: this session will confirm nothing
            wanted.subscribed = trio.Event()

    def _on_message(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        channel = message["channel"].decode("utf-8", "replace")
        if kind in _DATA:
            self._deliver(channel, message["data"])
        elif kind in _SUBSCRIBED:
            wanted = self._wanted.get(channel)
            if wanted is not None:
                wanted.subscribed.set()
        elif kind in _UNSUBSCRIBED:
            if self._unsubscribing[channel] > 0:
                self._unsubscribing[channel] -= 1
                if not self._unsubscribing[channel]:
                    del self._unsubscribing[channel]
            elif channel in self._wanted:
                # The server dropped it: its slot moved to another master. Start over.
                raise RedisDown(f"redis dropped the subscription of {channel!r}")


def _first_leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc


class _Session:
    """One connected period: a pub/sub connection per node, each with its reader."""

    def __init__(self, link: Link, nursery: trio.Nursery,
                 on_message: Callable[[dict[str, Any]], None]) -> None:
        self._link = link
        self._nursery = nursery
        self._on_message = on_message
        self._sharded = link.target.cluster
        self._feeds: dict[tuple[str, int], PubSub] = {}

    async def open(self) -> None:
        """Connect to the node, or to every current master (so any loss is seen at once)."""
        for address in await self._link.reader_addresses():
            await self._feed(address)

    async def subscribe(self, channels: list[str]) -> None:
        """Send the subscriptions (Redis confirms them to the reader)."""
        await self._send("ssubscribe" if self._sharded else "subscribe", channels)

    async def unsubscribe(self, channels: list[str]) -> None:
        """Send the unsubscriptions."""
        await self._send("sunsubscribe" if self._sharded else "unsubscribe", channels)

    async def close(self) -> None:
        """Close every connection of the session."""
        for pubsub in self._feeds.values():
            await self._link.close_pubsub(pubsub)
        self._feeds.clear()

    async def _send(self, command: str, channels: list[str]) -> None:
        grouped: dict[tuple[str, int], list[str]] = {}
        for channel in channels:
            grouped.setdefault(self._link.address_of(channel), []).append(channel)
        for address, names in grouped.items():
            pubsub = await self._feed(address)
            await self._link.bridge(partial(getattr(pubsub, command), *names))

    async def _feed(self, address: tuple[str, int]) -> PubSub:
        pubsub = self._feeds.get(address)
        if pubsub is None:
            pubsub = self._feeds[address] = await self._link.open_pubsub(address)
            self._nursery.start_soon(self._read, pubsub)
        return pubsub

    async def _read(self, pubsub: PubSub) -> None:
        async def read_forever() -> None:
            while True:
                message = await pubsub.get_message(timeout=None)
                if message is not None:
                    self._on_message(message)

        await self._link.follow(read_forever)
