"""The ``RateLimiter`` contract, run against every backend, and the embedded limiter's bound."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from editor.bus import MemoryRateLimiter, RateLimiter
from tests.contract.bus_backends import limiter_fixture, seams_fixture  # noqa: F401

RATE_PER_S = 2.0
BURST = 3.0


async def drain(limiter: RateLimiter, key: str) -> None:
    """Take the whole burst of a fresh key."""
    for _ in range(int(BURST)):
        assert await limiter.take(key, RATE_PER_S, BURST) == 0.0


async def test_a_full_burst_then_a_refusal_with_the_wait(
    limiter: RateLimiter, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(5):
        await drain(limiter, "k")
        assert await limiter.take("k", RATE_PER_S, BURST) == pytest.approx(1 / RATE_PER_S)
        # A refusal takes nothing: the wait does not grow.
        assert await limiter.take("k", RATE_PER_S, BURST) == pytest.approx(1 / RATE_PER_S)


async def test_tokens_refill_continuously(
    limiter: RateLimiter, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(5):
        await drain(limiter, "k")
        await trio.sleep(0.2)
        wait_s = await limiter.take("k", RATE_PER_S, BURST)
        assert wait_s == pytest.approx(0.3)  # 0.4 of a token back, 0.6 to go at 2 per second
        await trio.sleep(wait_s)
        assert await limiter.take("k", RATE_PER_S, BURST) == 0.0
        assert await limiter.take("k", RATE_PER_S, BURST) > 0.0


async def test_refill_is_capped_at_the_burst(
    limiter: RateLimiter, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(120):
        await drain(limiter, "k")
        await trio.sleep(100)
        await drain(limiter, "k")
        assert await limiter.take("k", RATE_PER_S, BURST) == pytest.approx(1 / RATE_PER_S)


async def test_keys_are_independent(
    limiter: RateLimiter, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(5):
        await drain(limiter, "a")
        await drain(limiter, "b")
        assert await limiter.take("a", RATE_PER_S, BURST) > 0.0


async def test_a_slow_rate_gives_long_waits(
    limiter: RateLimiter, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(5):
        assert await limiter.take("k", 0.5, 1.0) == 0.0
        assert await limiter.take("k", 0.5, 1.0) == pytest.approx(2.0)


async def test_a_costly_take_takes_its_cost_or_nothing(
    limiter: RateLimiter, autojump_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(5):
        assert await limiter.take("k", RATE_PER_S, BURST, cost=2.5) == 0.0
        assert await limiter.take("k", RATE_PER_S, BURST, cost=1.0) == pytest.approx(0.25)
        # Refused: nothing taken, so the wait for 3 tokens is from 0.5 of one.
        assert await limiter.take("k", RATE_PER_S, BURST, cost=3.0) == pytest.approx(1.25)
        await trio.sleep(1.25)
        assert await limiter.take("k", RATE_PER_S, BURST, cost=3.0) == 0.0


@pytest.mark.parametrize(("rate_per_s", "burst", "cost"),
                         [(0.0, 3.0, 1.0), (-1.0, 3.0, 1.0), (1.0, 0.5, 0.5), (1.0, 3.0, 0.0),
                          (1.0, 3.0, 3.5)])
async def test_a_bucket_that_could_never_give_the_tokens_is_refused(
    limiter: RateLimiter, autojump_clock: trio.testing.MockClock, rate_per_s: float,
    burst: float, cost: float,
) -> None:
    with trio.fail_after(5), pytest.raises(ValueError):
        await limiter.take("k", rate_per_s, burst, cost)


async def test_memory_limiter_keeps_at_most_max_keys(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """The least recently seen key goes first and comes back with a full bucket."""
    limiter = MemoryRateLimiter(max_keys=2)
    with trio.fail_after(5):
        await drain(limiter, "a")
        await drain(limiter, "b")
        assert await limiter.take("a", RATE_PER_S, BURST) > 0.0  # a is now more recent than b
        await drain(limiter, "c")  # b goes
        await drain(limiter, "b")  # full again; a goes
        assert await limiter.take("c", RATE_PER_S, BURST) > 0.0
        await drain(limiter, "a")
