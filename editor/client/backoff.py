"""Reconnect delays: exponential backoff with jitter (PROTOCOL.md §3). Pure."""

from __future__ import annotations

import random


def backoff_delay_s(
    attempt: int,
    *,
    initial_s: float = 1.0,
    max_s: float = 30.0,
    jitter: float = 0.5,
    rng: random.Random | None = None,
) -> float:
    """The delay before reconnect ``attempt`` (0-based): 1 s, 2 s, 4 s, … at most ``max_s``.

    Jitter only ever shortens the nominal delay, by up to ``jitter`` of it, so clients
    that lost the same server spread out without any of them waiting past ``max_s``.
    """
    nominal_s = min(max_s, initial_s * 2 ** min(attempt, 64))
    draw = (rng or random).random()
    return nominal_s * (1.0 - jitter * draw)
