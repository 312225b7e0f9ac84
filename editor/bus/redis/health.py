"""Whether Redis answers: the ``editor_redis_up`` gauge, a log line per flip, a wake-up on loss.

Every adapter reports here; the pub/sub reader's reconnect loop is the only one that declares
Redis up again (after a fresh connection), so the fast path comes back by itself.
"""

from __future__ import annotations

import trio
from prometheus_client import Gauge

from editor import logs

log = logs.get(__name__)

REDIS_UP = Gauge("editor_redis_up",
                 "1 while Redis answers (the fast path), 0 while this process runs degraded")


class Health:
    """The process's view of Redis: up, or down since the first failure of an outage."""

    def __init__(self, target: str) -> None:
        self._target = target
        self._up: bool | None = None  # None: not tried yet
        self._went_down = trio.Event()
        REDIS_UP.set(0)

    @property
    def up(self) -> bool:
        """True while the last word on Redis was a success."""
        return bool(self._up)

    def mark_up(self) -> None:
        """Redis answered a fresh connection: leave degraded mode."""
        if not self._up:
            log.info("redis up: bus, presence, cache and rate limits shared again",
                     extra={"redis": self._target})
        self._up = True
        self._went_down = trio.Event()
        REDIS_UP.set(1)

    def mark_down(self, reason: BaseException) -> None:
        """Redis failed: degrade (logged once per outage, not per failing call)."""
        if self._up is not False:
            log.warning("redis down: degraded to local presence, cache and rate limits, no"
                        " fan-out", extra={"redis": self._target,
                                           "reason": f"{type(reason).__name__}: {reason}"})
        self._up = False
        self._went_down.set()
        REDIS_UP.set(0)

    async def wait_down(self) -> None:
        """Until Redis is declared down (at once if it is)."""
        await self._went_down.wait()
