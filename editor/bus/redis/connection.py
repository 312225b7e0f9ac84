"""The Redis client (one node or a cluster) on a trio-asyncio loop, and the bridge to it.

redis.asyncio is an asyncio library: every operation is one asyncio function (a command, a
script, a pipeline) run through ONE bridged call, bounded in time. Whatever it raises becomes
``RedisDown``: on a cluster redis-py also raises ``RedisClusterException`` and, during long
outages, raw ``AttributeError``s (INFRA.md), so the boundary catches broadly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar

import trio
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError

from editor import aio
from editor.bus.redis.health import Health
from editor.bus.redis.url import RedisTarget

T = TypeVar("T")
Client: TypeAlias = Redis | RedisCluster

# A command that takes longer is abandoned and Redis counts as down: callers degrade rather
# than wait (a commit must never queue behind a sick cache).
OPERATION_TIMEOUT_S = 1.0
CONNECT_TIMEOUT_S = 1.0


# Scripts take the time as ARGV[1]: "" means the Redis server's clock (TIME), which every
# replica shares; a number is the caller's clock (tests drive it with Trio's MockClock).
NOW_LUA = """
local function now_s()
  if ARGV[1] ~= '' then return tonumber(ARGV[1]) end
  local time = redis.call('TIME')
  return tonumber(time[1]) + tonumber(time[2]) / 1000000
end
"""


def now_arg(clock: Callable[[], float] | None) -> str:
    """ARGV[1] of a script using ``NOW_LUA``."""
    return "" if clock is None else repr(clock())


class RedisDown(Exception):
    """Redis cannot be reached now (or failed): the caller takes its degraded path."""


@dataclass(frozen=True)
class Script:
    """A Lua script run by SHA (EVALSHA), sent whole (EVAL) when the server lacks it."""

    source: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.source.encode()).hexdigest())

    async def run(self, client: Client, keys: Sequence[str], args: Sequence[str | float]
                  ) -> Any:
        """The script's reply (asyncio side: call it inside a bridged operation)."""
        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)  # type: ignore[misc]
        except NoScriptError:
            return await client.eval(self.source, len(keys), *keys, *args)  # type: ignore[misc]


class Link:
    """The process's client of one Redis target, its loop, and its health."""

    def __init__(self, loop: aio.TrioEventLoop, target: RedisTarget, client: Client,
                 health: Health, client_name: str) -> None:
        self._loop = loop
        self.target = target
        self.client = client
        self.health = health
        self._client_name = client_name

    @classmethod
    async def open(cls, loop: aio.TrioEventLoop, target: RedisTarget, health: Health, *,
                   client_name: str) -> Link:
        """A link whose client connects lazily (Redis may be down at start)."""
        async def create() -> Client:
            if target.cluster:
                return RedisCluster(
                    startup_nodes=[ClusterNode(host, port) for host, port in target.nodes],
                    **_options(target, client_name))
            host, port = target.nodes[0]
            return Redis(host=host, port=port, db=target.db, **_options(target, client_name))

        return cls(loop, target, await aio.aio_as_trio(create, loop=loop)(), health,
                   client_name)

    async def bridge(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run one asyncio function on the loop, bounded; ``RedisDown`` if it fails."""
        try:
            with trio.fail_after(OPERATION_TIMEOUT_S):
                return await aio.aio_as_trio(operation, loop=self._loop)()
        except Exception as exc:  # broadly, at the adapter boundary: see the module doc
            raise RedisDown(f"redis: {type(exc).__name__}: {exc}") from exc

    async def call(self, operation: Callable[[Client], Awaitable[T]]) -> T:
        """One whole operation on the client; ``RedisDown`` at once while Redis is down."""
        if not self.health.up:
            raise RedisDown("redis is down")
        try:
            return await self.bridge(lambda: operation(self.client))
        except RedisDown as exc:
            self.health.mark_down(exc.__cause__ or exc)
            raise

    async def reader_addresses(self) -> list[tuple[str, int]]:
        """Where pub/sub connections go: the node, or every cluster master (refreshed)."""
        async def masters() -> list[tuple[str, int]]:
            client = self.client
            if isinstance(client, RedisCluster):
                await client.initialize()  # the first time: connect to the seeds
                # Then ask the cluster again: only the client's own command errors make it
                # refresh by itself, and a reader's lost connection is not one of them.
                await client.nodes_manager.initialize()
                return [(node.host, int(node.port)) for node in client.get_primaries()]
            await client.ping()
            return [self.target.nodes[0]]

        return await self.bridge(masters)

    async def follow(self, operation: Callable[[], Awaitable[None]]) -> None:
        """Run a long-lived asyncio function (a reader) until it fails: ``RedisDown``."""
        try:
            await aio.aio_as_trio(operation, loop=self._loop)()
        except Exception as exc:  # broadly, at the adapter boundary: see the module doc
            raise RedisDown(f"redis: {type(exc).__name__}: {exc}") from exc

    def address_of(self, channel: str) -> tuple[str, int]:
        """The node that holds ``channel``'s slot (the one node when not a cluster)."""
        client = self.client
        if isinstance(client, RedisCluster):
            node = client.nodes_manager.get_node_from_slot(client.keyslot(channel))
            return node.host, int(node.port)
        return self.target.nodes[0]

    async def open_pubsub(self, address: tuple[str, int]) -> PubSub:
        """A pub/sub connection to one node, connected (it owns its own client)."""
        async def connect() -> PubSub:
            host, port = address
            node = Redis(host=host, port=port, db=self.target.db,
                         **_options(self.target, self._client_name))
            pubsub = node.pubsub()
            await pubsub.connect()
            return pubsub

        return await self.bridge(connect)

    async def close_pubsub(self, pubsub: PubSub) -> None:
        """Close a connection of ``open_pubsub`` (errors ignored: it is being dropped)."""
        async def close() -> None:
            try:
                await pubsub.aclose()
            finally:
                await pubsub.connection_pool.disconnect()

        with trio.CancelScope(shield=True):
            try:
                await self.bridge(close)
            except RedisDown:
                pass

    async def close(self) -> None:
        """Close the client's connections (errors ignored: the process is leaving)."""
        with trio.CancelScope(shield=True), trio.move_on_after(OPERATION_TIMEOUT_S):
            try:
                await self.bridge(self.client.aclose)
            except RedisDown:
                pass


def _options(target: RedisTarget, client_name: str) -> dict[str, Any]:
    # No retries inside redis-py: a failure surfaces at once and the adapter degrades, while
    # the reader's reconnect loop owns the backoff.
    return {"username": target.username, "password": target.password,
            "client_name": client_name, "socket_connect_timeout": CONNECT_TIMEOUT_S,
            "socket_timeout": OPERATION_TIMEOUT_S * 2, "socket_keepalive": True,
            "retry": Retry(NoBackoff(), 0)}
