"""Token-bucket rate limits keyed by user or client address (PROTOCOL.md §4 "Limits").

``RateLimiter`` is the interface; ``MemoryRateLimiter`` is the embedded implementation
(per process). A shared implementation (Redis) fills the same interface.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol


class RateLimiter(Protocol):
    """Decides whether one more request under ``key`` fits its budget."""

    def take(self, key: str, per_minute: int) -> float:
        """0 when allowed (and counted), else the seconds to wait before retrying."""


class MemoryRateLimiter:
    """Buckets of ``per_minute`` tokens refilled continuously, for at most ``max_keys`` keys."""

    def __init__(self, *, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._max_keys = max_keys
        self._clock = clock

    def take(self, key: str, per_minute: int) -> float:
        """0 when allowed (and counted), else the seconds to wait before retrying."""
        now = self._clock()
        rate_per_s = per_minute / 60.0
        tokens, stamp = self._buckets.pop(key, (float(per_minute), now))
        tokens = min(float(per_minute), tokens + (now - stamp) * rate_per_s)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            wait_s = 0.0
        else:
            self._buckets[key] = (tokens, now)
            wait_s = (1.0 - tokens) / rate_per_s
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)  # the least recently seen key
        return wait_s
