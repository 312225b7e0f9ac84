"""``SnapshotCache`` on Redis: one hash per document, ``editor:snapshot:{doc_id}``.

Fields ``v`` (version), ``c`` (content, JSON) and ``x`` (expiry on the server's clock). A put
is one script, so an older snapshot never replaces a newer live one however replicas race.
A cache that is down or failing misses and forgets: it costs time, never correctness.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from editor.bus.redis.connection import NOW_LUA, Link, RedisDown, Script, now_arg
from editor.store.records import Snapshot

PUT = Script(NOW_LUA + """
local now = now_s()
local cached = redis.call('HMGET', KEYS[1], 'v', 'x')
if cached[1] and tonumber(cached[2]) > now and tonumber(cached[1]) > tonumber(ARGV[3]) then
  return 0
end
local ttl_s = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], 'v', ARGV[3], 'c', ARGV[4], 'x', string.format('%.17g', now + ttl_s))
redis.call('PEXPIRE', KEYS[1], math.ceil(ttl_s * 1000))
return 1
""")

GET = Script(NOW_LUA + """
local cached = redis.call('HMGET', KEYS[1], 'v', 'c', 'x')
if not cached[1] or tonumber(cached[3]) <= now_s() then return false end
return {cached[1], cached[2]}
""")


def snapshot_key(doc_id: str) -> str:
    """The document's cached snapshot."""
    return f"editor:snapshot:{{{doc_id}}}"


class RedisSnapshotCache:
    """Snapshots shared by every replica, with a TTL on the Redis server's clock."""

    def __init__(self, link: Link, *, clock: Callable[[], float] | None = None) -> None:
        self._link = link
        self._clock = clock

    async def get(self, doc_id: str) -> Snapshot | None:
        """The cached snapshot, or None when absent, expired or unreachable."""
        try:
            row: Any = await self._link.call(
                lambda c: GET.run(c, [snapshot_key(doc_id)], [now_arg(self._clock)]))
        except RedisDown:
            return None
        if row is None:
            return None
        version, content = row
        return Snapshot(int(version), json.loads(content))

    async def put(self, doc_id: str, snapshot: Snapshot, ttl_s: float) -> None:
        """Cache ``snapshot`` for ``ttl_s`` seconds unless a newer version is cached."""
        if not ttl_s > 0:
            raise ValueError(f"ttl_s must be positive, not {ttl_s!r}")
        content = json.dumps(snapshot.content, ensure_ascii=False, separators=(",", ":"))
        args = [now_arg(self._clock), repr(ttl_s), str(snapshot.version), content]
        try:
            await self._link.call(lambda c: PUT.run(c, [snapshot_key(doc_id)], args))
        except RedisDown:
            pass

    async def invalidate(self, doc_id: str) -> None:
        """Drop the document's cached snapshot (forgotten while Redis is down)."""
        try:
            await self._link.call(lambda c: c.delete(snapshot_key(doc_id)))
        except RedisDown:
            pass
