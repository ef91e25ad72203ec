"""The per-key sliding window: who is refused, and for how long."""

from __future__ import annotations

import pytest

from api.access.ratelimit import RateLimiter


def test_calls_past_the_limit_are_refused_with_seconds_to_wait() -> None:
    limiter = RateLimiter("3/minute")
    assert [limiter.check("a") for _ in range(3)] == [None, None, None]
    wait = limiter.check("a")
    assert wait is not None and 1 <= wait <= 60


def test_each_key_counts_on_its_own() -> None:
    limiter = RateLimiter("1/minute")
    assert limiter.check("a") is None
    assert limiter.check("b") is None
    assert limiter.check("a") is not None


def test_several_limits_all_apply() -> None:
    limiter = RateLimiter("100/second;2/hour")
    assert limiter.check("k") is None
    assert limiter.check("k") is None
    wait = limiter.check("k")
    assert wait is not None and wait > 60


def test_a_bad_spec_is_refused() -> None:
    with pytest.raises(ValueError):
        RateLimiter("lots")


def test_the_window_slides_and_says_how_long_to_wait() -> None:
    clock = [0.0]
    limiter = RateLimiter("10/second", clock=lambda: clock[0])
    assert all(limiter.check("k") is None for _ in range(10))
    # In 1.1 s a tenth of these ten have slid out; the answer is capped at the period.
    assert limiter.check("k") == 1
    clock[0] = 1.5  # half of the previous second's ten still count: five more fit
    assert [limiter.check("k") for _ in range(6)] == [None] * 5 + [1]
    clock[0] = 3.0  # two windows later nothing counts
    assert all(limiter.check("k") is None for _ in range(10))


def test_a_refused_call_is_not_counted() -> None:
    clock = [0.0]
    limiter = RateLimiter("2/second;3/minute", clock=lambda: clock[0])
    assert limiter.check("k") is None and limiter.check("k") is None
    assert limiter.check("k") is not None  # the per-second limit refuses it
    clock[0] = 2.0
    assert limiter.check("k") is None  # the minute counted two calls, not three
    assert limiter.check("k") is not None


def test_callers_not_seen_for_two_periods_are_forgotten() -> None:
    clock = [1000.0]
    limiter = RateLimiter("5/second", clock=lambda: clock[0], max_windows=10)
    for n in range(10):
        limiter.check(f"address-{n}")
    clock[0] += 5
    for n in range(3):
        limiter.check(f"new-{n}")
    assert len(limiter._windows) <= 10, "the stale ones were dropped"
    assert limiter.check("new-0") is None
