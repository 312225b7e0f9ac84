"""The reconnect delays (PROTOCOL.md §3): 1 s, 2 s, 4 s, … at most 30 s, with jitter; options."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from editor.client.backoff import backoff_delay_s
from editor.client.options import ClientOptions


class Fixed(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


def test_nominal_schedule_without_jitter() -> None:
    delays = [backoff_delay_s(attempt, jitter=0.0) for attempt in range(8)]
    assert delays == [1, 2, 4, 8, 16, 30, 30, 30]


def test_jitter_only_shortens_by_up_to_its_share() -> None:
    assert backoff_delay_s(2, rng=Fixed(0.0)) == 4
    assert backoff_delay_s(2, rng=Fixed(0.999)) > 2
    assert backoff_delay_s(10, jitter=0.5, rng=Fixed(1.0)) == 15


@given(attempt=st.integers(0, 10_000), seed=st.integers(0, 2**32))
def test_every_delay_is_within_half_of_nominal_and_at_most_30_s(attempt: int, seed: int) -> None:
    delay = backoff_delay_s(attempt, rng=random.Random(seed))
    nominal = min(30.0, 2.0**min(attempt, 64))
    assert nominal / 2 <= delay <= nominal <= 30


def test_jitter_spreads_clients() -> None:
    rng = random.Random(1)
    assert len({backoff_delay_s(3, rng=rng) for _ in range(20)}) == 20


@pytest.mark.parametrize(
    "overrides",
    [
        {"ping_interval_s": 0},
        {"close_timeout_s": -1.0},
        {"event_queue_size": 0},
        {"history_ops": 1.5},
        {"backoff_jitter": 1.5},
        {"backoff_initial_s": 60.0},
    ],
)
def test_bad_options_are_refused_by_name(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(overrides)).split("_s")[0]):
        ClientOptions(**overrides)
