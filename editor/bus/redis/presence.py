"""``Presence`` on Redis: one hash per document, ``editor:presence:{doc_id}``.

A field per client holds its expiry and its entry. Expired fields are dropped when the
document is listed, and the key expires with its longest-lived entry, so a document nobody
lists again frees itself. One key per document: every script touches one slot. While Redis is
down, this replica's own entries are kept and listed locally.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from editor.bus.base import PresenceEntry
from editor.bus.memory import MemoryPresence
from editor.bus.redis.connection import NOW_LUA, Link, RedisDown, Script, now_arg

PUT = Script(NOW_LUA + """
local ttl_s = tonumber(ARGV[2])
local expires = now_s() + ttl_s
redis.call('HSET', KEYS[1], ARGV[3], string.format('%.17g', expires) .. ' ' .. ARGV[4])
local ttl_ms = math.ceil(ttl_s * 1000)
if redis.call('PTTL', KEYS[1]) < ttl_ms then redis.call('PEXPIRE', KEYS[1], ttl_ms) end
""")

LIST = Script(NOW_LUA + """
local now = now_s()
local fields = redis.call('HGETALL', KEYS[1])
local live = {}
for i = 1, #fields, 2 do
  local value = fields[i + 1]
  local space = string.find(value, ' ', 1, true)
  if tonumber(string.sub(value, 1, space - 1)) > now then
    table.insert(live, string.sub(value, space + 1))
  else
    redis.call('HDEL', KEYS[1], fields[i])
  end
end
return live
""")


def presence_key(doc_id: str) -> str:
    """The document's presence hash."""
    return f"editor:presence:{{{doc_id}}}"


def _encode(entry: PresenceEntry) -> str:
    return json.dumps([entry.client_id, entry.user, entry.index, entry.length, entry.version],
                      ensure_ascii=False, separators=(",", ":"))


def _decode(raw: bytes) -> PresenceEntry:
    client_id, user, index, length, version = json.loads(raw)
    return PresenceEntry(client_id, user, index, length, version)


class RedisPresence:
    """Presence shared by every replica, with expiry on the Redis server's clock."""

    def __init__(self, link: Link, *, clock: Callable[[], float] | None = None) -> None:
        self._link = link
        self._clock = clock
        self._local = MemoryPresence()

    async def put(self, doc_id: str, entry: PresenceEntry, ttl_s: float) -> None:
        """Insert or refresh ``entry``; it expires ``ttl_s`` seconds from now."""
        if not ttl_s > 0:
            raise ValueError(f"ttl_s must be positive, not {ttl_s!r}")
        args = [now_arg(self._clock), repr(ttl_s), entry.client_id, _encode(entry)]
        try:
            await self._link.call(lambda c: PUT.run(c, [presence_key(doc_id)], args))
        except RedisDown:
            await self._local.put(doc_id, entry, ttl_s)

    async def remove(self, doc_id: str, client_id: str) -> None:
        """Forget the client's entry (no error if there is none)."""
        await self._local.remove(doc_id, client_id)
        try:
            await self._link.call(lambda c: c.hdel(presence_key(doc_id), client_id))
        except RedisDown:
            pass

    async def list(self, doc_id: str) -> list[PresenceEntry]:
        """The document's unexpired entries, ordered by ``client_id``."""
        try:
            rows: list[Any] = await self._link.call(
                lambda c: LIST.run(c, [presence_key(doc_id)], [now_arg(self._clock)]))
        except RedisDown:
            return await self._local.list(doc_id)
        return sorted((_decode(row) for row in rows), key=lambda entry: entry.client_id)
