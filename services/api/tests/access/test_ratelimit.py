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
