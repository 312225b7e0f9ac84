"""The embedded bus, presence, snapshot cache and rate limiter of a one-process ``editor serve``.

Real product code with stated memory bounds. Time is ``trio.current_time()``, so tests drive it
with ``autojump_clock``. Every method is a checkpoint, as the shared (Redis) implementation's are,
so callers cannot come to rely on the embedded one never yielding.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio

from editor.bus.base import BusMessage, PresenceEntry, check_bucket
from editor.store.records import Snapshot


def _check_ttl(ttl_s: float) -> None:
    if not ttl_s > 0:
        raise ValueError(f"ttl_s must be positive, not {ttl_s!r}")


class MemoryBus:
    """In-process pub/sub; memory is at most subscribers × ``queue_size`` messages."""

    def __init__(self, *, queue_size: int) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size must be at least 1, not {queue_size!r}")
        self._queue_size = queue_size
        self._subscribers: dict[str, set[trio.MemorySendChannel[BusMessage]]] = {}

    async def publish(self, message: BusMessage) -> None:
        """Send ``message`` to the current subscribers of its document, at most once each."""
        await trio.lowlevel.checkpoint()
        for send_channel in self._subscribers.get(message.doc_id, ()):
            try:
                send_channel.send_nowait(message)
            except trio.WouldBlock:
                # At-most-once, like Redis pub/sub: the slow subscriber detects the version gap
                # and reads the op log, while the publisher (a committer) never waits on it.
                pass

    @asynccontextmanager
    async def subscribe(self, doc_id: str) -> AsyncIterator[trio.MemoryReceiveChannel[BusMessage]]:
        """Receive the document's messages published after entering, until exit."""
        await trio.lowlevel.checkpoint()
        send_channel, receive_channel = trio.open_memory_channel[BusMessage](self._queue_size)
        channels = self._subscribers.setdefault(doc_id, set())
        channels.add(send_channel)
        try:
            async with receive_channel:
                yield receive_channel
        finally:
            channels.discard(send_channel)
            if not channels:
                del self._subscribers[doc_id]  # idle documents cost nothing
            # Closing the send end tells any clone of the receive end that the stream ended.
            send_channel.close()


class MemoryPresence:
    """Presence entries with a TTL, for at most ``max_entries`` clients over all documents.

    Expired entries go lazily on every call, in expiry order, so documents that nobody lists
    again still free their memory.
    """

    def __init__(self, *, max_entries: int = 100_000) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries!r}")
        self._max_entries = max_entries
        self._documents: dict[str, dict[str, tuple[PresenceEntry, float]]] = {}
        self._entry_count = 0
        # (expires_at, doc_id, client_id); a refresh pushes a new item and leaves the old one
        # stale, to be skipped when popped.
        self._expiries: list[tuple[float, str, str]] = []

    async def put(self, doc_id: str, entry: PresenceEntry, ttl_s: float) -> None:
        """Insert or refresh ``entry``; it expires ``ttl_s`` seconds from now."""
        _check_ttl(ttl_s)
        await trio.lowlevel.checkpoint()
        now = trio.current_time()
        self._expire(now)
        entries = self._documents.setdefault(doc_id, {})
        if entry.client_id not in entries:
            self._entry_count += 1
        expires_at = now + ttl_s
        entries[entry.client_id] = (entry, expires_at)
        heapq.heappush(self._expiries, (expires_at, doc_id, entry.client_id))
        while self._entry_count > self._max_entries:
            self._evict_soonest()
        if len(self._expiries) > 2 * self._entry_count + 64:
            self._compact()

    async def remove(self, doc_id: str, client_id: str) -> None:
        """Forget the client's entry (no error if there is none)."""
        await trio.lowlevel.checkpoint()
        self._drop(doc_id, client_id)

    async def list(self, doc_id: str) -> list[PresenceEntry]:
        """The document's unexpired entries, ordered by ``client_id``."""
        await trio.lowlevel.checkpoint()
        self._expire(trio.current_time())
        entries = self._documents.get(doc_id, {})
        return [entries[client_id][0] for client_id in sorted(entries)]

    def _expire(self, now: float) -> None:
        while self._expiries and self._expiries[0][0] <= now:
            _, doc_id, client_id = heapq.heappop(self._expiries)
            current = self._documents.get(doc_id, {}).get(client_id)
            if current is not None and current[1] <= now:  # not refreshed since this item
                self._drop(doc_id, client_id)

    def _evict_soonest(self) -> None:
        # Over the bound, the entry closest to expiring is the cheapest to lose.
        while self._expiries:
            expires_at, doc_id, client_id = heapq.heappop(self._expiries)
            current = self._documents.get(doc_id, {}).get(client_id)
            if current is not None and current[1] == expires_at:
                self._drop(doc_id, client_id)
                return

    def _compact(self) -> None:
        # Frequent refreshes leave stale heap items; rebuilding keeps the heap within 2× entries.
        self._expiries = [
            (expires_at, doc_id, client_id)
            for doc_id, entries in self._documents.items()
            for client_id, (_, expires_at) in entries.items()
        ]
        heapq.heapify(self._expiries)

    def _drop(self, doc_id: str, client_id: str) -> None:
        entries = self._documents.get(doc_id)
        if entries is None or entries.pop(client_id, None) is None:
            return
        self._entry_count -= 1
        if not entries:
            del self._documents[doc_id]


class MemorySnapshotCache:
    """Snapshots with a TTL for at most ``max_documents`` documents, least recently used out."""

    def __init__(self, *, max_documents: int = 1_000) -> None:
        if max_documents < 1:
            raise ValueError(f"max_documents must be at least 1, not {max_documents!r}")
        self._max_documents = max_documents
        self._snapshots: OrderedDict[str, tuple[Snapshot, float]] = OrderedDict()

    async def get(self, doc_id: str) -> Snapshot | None:
        """The cached snapshot, or None when absent or expired."""
        await trio.lowlevel.checkpoint()
        cached = self._live(doc_id, trio.current_time())
        if cached is None:
            return None
        self._snapshots.move_to_end(doc_id)
        return cached

    async def put(self, doc_id: str, snapshot: Snapshot, ttl_s: float) -> None:
        """Cache ``snapshot`` for ``ttl_s`` seconds unless a newer version is cached."""
        _check_ttl(ttl_s)
        await trio.lowlevel.checkpoint()
        now = trio.current_time()
        cached = self._live(doc_id, now)
        if cached is not None and cached.version > snapshot.version:
            # A reader that loaded an old snapshot must not undo a fresher writer.
            return
        self._snapshots[doc_id] = (snapshot, now + ttl_s)
        self._snapshots.move_to_end(doc_id)
        while len(self._snapshots) > self._max_documents:
            self._snapshots.popitem(last=False)

    async def invalidate(self, doc_id: str) -> None:
        """Drop the document's cached snapshot."""
        await trio.lowlevel.checkpoint()
        self._snapshots.pop(doc_id, None)

    def _live(self, doc_id: str, now: float) -> Snapshot | None:
        cached = self._snapshots.get(doc_id)
        if cached is None:
            return None
        snapshot, expires_at = cached
        if expires_at <= now:
            del self._snapshots[doc_id]
            return None
        return snapshot


class MemoryRateLimiter:
    """Token buckets for at most ``max_keys`` keys, least recently used out.

    An evicted key starts again with a full bucket, as a key seen for the first time does.
    """

    def __init__(self, *, max_keys: int = 100_000) -> None:
        if max_keys < 1:
            raise ValueError(f"max_keys must be at least 1, not {max_keys!r}")
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, stamp

    async def take(self, key: str, rate_per_s: float, burst: float, cost: float = 1.0
                   ) -> float:
        """0.0 when ``cost`` tokens were taken, else the seconds until they are available
        (none taken)."""
        check_bucket(rate_per_s, burst, cost)
        await trio.lowlevel.checkpoint()
        now = trio.current_time()
        tokens, stamp = self._buckets.pop(key, (burst, now))
        tokens = min(burst, tokens + (now - stamp) * rate_per_s)
        if tokens >= cost:
            self._buckets[key] = (tokens - cost, now)
            wait_s = 0.0
        else:
            self._buckets[key] = (tokens, now)
            wait_s = (cost - tokens) / rate_per_s
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return wait_s
