"""Back-off delays: exponential in the receive count, capped, equal jitter, ``Retry-After`` wins."""

from __future__ import annotations

import math
import random

import pytest

from shared.backoff import MAX_VISIBILITY_S, visibility_delay, wait_delay
from shared.spec import SQS_MAX_RECEIVE_COUNT, RetryPolicy

POLICY = RetryPolicy(max_attempts=8, base_delay_s=10, max_delay_s=900)


class Edge(random.Random):
    """Always picks one end of the jitter window: ``high`` or the low end."""

    def __init__(self, *, high: bool) -> None:
        super().__init__(0)
        self.high = high
        self.windows: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.windows.append((a, b))
        return b if self.high else a


def test_delay_doubles_with_each_attempt_up_to_the_cap() -> None:
    top = Edge(high=True)
    delays = [visibility_delay(POLICY, n, rng=top) for n in range(1, 10)]
    assert delays == [10, 20, 40, 80, 160, 320, 640, 900, 900]
    assert top.windows[:3] == [(5.0, 10.0), (10.0, 20.0), (20.0, 40.0)]


def test_equal_jitter_never_goes_below_half_the_window() -> None:
    bottom = Edge(high=False)
    assert [visibility_delay(POLICY, n, rng=bottom) for n in range(1, 10)] == [
        5,
        10,
        20,
        40,
        80,
        160,
        320,
        450,
        450,
    ]


@pytest.mark.parametrize("attempt", [1, 2, 3, 5, 8, 20])
def test_jittered_delays_stay_inside_the_window(attempt: int) -> None:
    rng = random.Random(1234)
    window = min(900.0, 10.0 * 2 ** (attempt - 1))
    delays = {visibility_delay(POLICY, attempt, rng=rng) for _ in range(300)}
    assert min(delays) >= math.ceil(window / 2)
    assert max(delays) <= window
    assert len(delays) > 1  # it does jitter


def test_attempt_zero_or_negative_is_treated_as_the_first() -> None:
    top = Edge(high=True)
    assert visibility_delay(POLICY, 0, rng=top) == 10
    assert visibility_delay(POLICY, -3, rng=top) == 10


def test_retry_after_wins_over_the_computed_delay() -> None:
    rng = Edge(high=True)
    assert visibility_delay(POLICY, 1, 7, rng=rng) == 7
    assert visibility_delay(POLICY, 8, 7, rng=rng) == 7
    assert visibility_delay(POLICY, 1, 2000, rng=rng) == 2000  # above max_delay_s: the target said so
    assert rng.windows == []  # no jitter drawn at all


def test_retry_after_is_rounded_up_and_never_negative() -> None:
    assert visibility_delay(POLICY, 1, 2.1) == 3
    assert visibility_delay(POLICY, 1, 0) == 0
    assert visibility_delay(POLICY, 1, -5) == 0


def test_scale_shrinks_every_delay() -> None:
    assert visibility_delay(POLICY, 1, 100, scale=0.05) == 5
    assert visibility_delay(POLICY, 1, 7, scale=0.5) == 4
    assert visibility_delay(POLICY, 8, scale=0.01, rng=Edge(high=True)) == 9
    assert visibility_delay(POLICY, 3, scale=0, rng=Edge(high=True)) == 0


def test_never_more_than_the_sqs_limit_of_12_hours() -> None:
    assert MAX_VISIBILITY_S == 43_200
    assert visibility_delay(POLICY, 1, 100_000) == 43_200
    assert visibility_delay(POLICY, 1, 43_200) == 43_200
    assert visibility_delay(POLICY, 1, 43_201) == 43_200
    long = RetryPolicy(max_attempts=3, base_delay_s=43_200, max_delay_s=43_200)
    assert visibility_delay(long, 3, rng=Edge(high=True)) == 43_200
    assert visibility_delay(POLICY, 1, 30_000, scale=10) == 43_200


def test_infinite_retry_after_is_capped() -> None:
    assert visibility_delay(POLICY, 1, math.inf) == 43_200


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_attempts": 0}, "max_attempts must be at least 1"),
        ({"base_delay_s": 0}, "need 0 < base_delay_s"),
        ({"base_delay_s": 20, "max_delay_s": 10}, "need 0 < base_delay_s"),
        ({"max_delay_s": 43_201}, "43200"),
    ],
)
def test_retry_policy_refuses_impossible_values(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


# --- waits: no attempt spent, spaced by their own count, bounded by the horizon -------------------


def test_a_wait_is_spaced_like_the_back_off_of_its_count_capped_at_max_wait() -> None:
    policy = RetryPolicy(max_attempts=3, base_delay_s=10, max_delay_s=60, max_wait_s=900)
    top = Edge(high=True)
    assert [wait_delay(policy, n, rng=top) for n in range(1, 10)] == [10, 20, 40, 80, 160, 320, 640, 900, 900]
    bottom = Edge(high=False)
    assert [wait_delay(policy, n, rng=bottom) for n in (1, 8, 30)] == [5, 450, 450]


def test_a_longer_hint_wins_a_shorter_one_does_not_shorten_the_wait() -> None:
    bottom = Edge(high=False)
    assert wait_delay(POLICY, 1, 75.2, rng=bottom) == 76  # the next probe, or Retry-After
    assert wait_delay(POLICY, 8, 1, rng=bottom) == 450  # never below half the window: the backstop holds
    assert wait_delay(POLICY, 1, math.inf) == MAX_VISIBILITY_S
    assert wait_delay(POLICY, 2, 3.0, scale=0.01, rng=bottom) == 3  # the hint is already scaled


def test_the_backstop_counts_every_attempt_and_every_wait_the_horizon_allows() -> None:
    # Each wait lasts at least half its window: 5, 10, 20, 30, 30, 30 s reach 120 s in 6 waits.
    policy = RetryPolicy(max_attempts=2, base_delay_s=10, max_delay_s=60, max_wait_s=60, horizon_s=120)
    assert policy.max_waits == 6
    assert policy.max_receives == 2 + 6 + 1
    # The defaults: 5 days of waits at most 15 minutes apart fit under SQS's 1,000 receives.
    default = RetryPolicy()
    assert default.horizon_s == 5 * 24 * 3600 > 3 * 24 * 3600  # past Stripe's ~3 days, Square's 72 h
    assert 8 + 5 * 24 * 4 < default.max_receives <= SQS_MAX_RECEIVE_COUNT
    assert RetryPolicy(max_attempts=12).max_receives <= SQS_MAX_RECEIVE_COUNT  # the most any spec asks
    assert sum(default.wait_window_s(n) / 2 for n in range(1, default.max_waits + 1)) >= default.horizon_s


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_wait_s": 60, "horizon_s": 14 * 24 * 3600 - 1, "retention_s": 14 * 24 * 3600 - 1}, "outlast"),
        ({"horizon_s": 5 * 24 * 3600, "max_wait_s": 60}, "over SQS's maxReceiveCount limit of 1000"),
        ({"horizon_s": 7 * 24 * 3600 - 3600}, "raise retention_s or shorten horizon_s"),
        ({"retention_s": 14 * 24 * 3600}, "below the DLQ's 14 days"),
        ({"max_wait_s": 0}, "max_wait_s"),
        ({"horizon_s": -1}, "horizon_s must not be negative"),
    ],
)
def test_retry_policy_refuses_a_horizon_its_queue_cannot_hold(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
