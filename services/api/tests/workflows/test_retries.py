"""When the relay tries a refused message again, and when it gives up (pure)."""

from __future__ import annotations

import pytest

from api.workflows.retries import RetryPolicy


def policy(uniform: float, *, base: float, cap: float) -> RetryPolicy:
    """Jitter fixed at ``uniform``."""
    return RetryPolicy(base=base, cap=cap, uniform=lambda: uniform)


def test_the_wait_doubles_with_each_refusal_up_to_the_cap() -> None:
    longest = policy(0.999999, base=1.0, cap=60.0)
    waits = [round(longest.delay(attempts), 3) for attempts in range(1, 10)]
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]


def test_jitter_takes_at_most_half_of_the_wait_off() -> None:
    assert policy(0.0, base=2.0, cap=60.0).delay(3) == 4.0
    assert policy(0.5, base=2.0, cap=60.0).delay(3) == 6.0
    assert policy(0.0, base=2.0, cap=5.0).delay(10) == 2.5


@pytest.mark.parametrize("attempts", [1, 2, 20])
def test_real_jitter_stays_within_the_bounds(attempts: int) -> None:
    retries = RetryPolicy(base=1.0, cap=10.0)
    ceiling = min(10.0, 2.0 ** (attempts - 1))
    for _ in range(200):
        assert ceiling / 2 <= retries.delay(attempts) <= ceiling


def test_a_message_is_given_up_at_its_last_attempt_and_not_before() -> None:
    retries = RetryPolicy(max_attempts=3)
    assert [retries.exhausted(n) for n in (1, 2, 3, 4)] == [False, False, True, True]


def test_a_single_attempt_gives_up_at_the_first_refusal() -> None:
    assert RetryPolicy(max_attempts=1).exhausted(1)
