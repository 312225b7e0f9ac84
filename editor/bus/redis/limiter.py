"""``RateLimiter`` on Redis: one token bucket per key, ``editor:rate:{key}``, shared by replicas.

The bucket (tokens, stamp) is read and written by one script, on the Redis server's clock, so
every replica takes from the same bucket atomically. A key idle long enough to be full again
expires. While Redis is down each replica limits with its own local buckets (never "no
limit"), and goes back to the shared ones when Redis is.
"""

from __future__ import annotations

from collections.abc import Callable

from editor.bus.base import check_bucket
from editor.bus.memory import MemoryRateLimiter
from editor.bus.redis.connection import NOW_LUA, Link, RedisDown, Script, now_arg

TAKE = Script(NOW_LUA + """
local now = now_s()
local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local bucket = redis.call('HMGET', KEYS[1], 't', 's')
local tokens = burst
if bucket[1] then
  local elapsed = math.max(0, now - tonumber(bucket[2]))
  tokens = math.min(burst, tonumber(bucket[1]) + elapsed * rate)
end
local wait = 0
if tokens >= cost then tokens = tokens - cost else wait = (cost - tokens) / rate end
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 's', string.format('%.17g', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return string.format('%.17g', wait)
""")


def bucket_key(key: str) -> str:
    """The Redis key of a bucket."""
    return f"editor:rate:{{{key}}}"


class RedisRateLimiter:
    """Token buckets shared by every replica, local ones while Redis is down."""

    def __init__(self, link: Link, *, clock: Callable[[], float] | None = None) -> None:
        self._link = link
        self._clock = clock
        self._local = MemoryRateLimiter()

    async def take(self, key: str, rate_per_s: float, burst: float, cost: float = 1.0
                   ) -> float:
        """0.0 when ``cost`` tokens were taken, else the seconds until they are available
        (none taken)."""
        check_bucket(rate_per_s, burst, cost)
        args = [now_arg(self._clock), repr(float(rate_per_s)), repr(float(burst)),
                repr(float(cost))]
        try:
            wait_s = await self._link.call(lambda c: TAKE.run(c, [bucket_key(key)], args))
        except RedisDown:
            return await self._local.take(key, rate_per_s, burst, cost)
        return float(wait_s)
