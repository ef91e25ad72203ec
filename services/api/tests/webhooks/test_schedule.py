"""When a failed webhook attempt is tried again, and when the delivery is given up (pure)."""

from __future__ import annotations

import pytest

from api.webhooks.schedule import RetrySchedule

DAY = 86400.0


def attempts_until_given_up(schedule: RetrySchedule) -> list[float]:
    """When each attempt is made (seconds after the first) until the schedule gives up."""
    made = [0.0]
    while (wait := schedule.delay(len(made), made[-1])) is not None:
        made.append(made[-1] + wait)
    return made


@pytest.mark.parametrize("uniform", [0.0, 0.5, 0.999999])
def test_the_default_schedule_retries_for_24_hours_then_gives_up(uniform: float) -> None:
    made = attempts_until_given_up(RetrySchedule(uniform=lambda: uniform))
    assert made[-1] >= DAY
    assert made[-2] < DAY
    # Hourly at most, half-hourly at least once capped: 34 to 58 attempts in all.
    assert 34 <= len(made) <= 58


def test_the_wait_doubles_from_the_base_up_to_the_cap() -> None:
    longest = RetrySchedule(base=5.0, cap=3600.0, uniform=lambda: 0.999999)
    waits = [longest.delay(failures, 0.0) for failures in range(1, 13)]
    assert waits == [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]


def test_jitter_takes_at_most_half_of_the_wait_off_in_whole_seconds() -> None:
    assert RetrySchedule(base=5.0, uniform=lambda: 0.0).delay(3, 0.0) == 10
    assert RetrySchedule(base=5.0, uniform=lambda: 0.0).delay(1, 0.0) == 3
    assert RetrySchedule(base=0.1, uniform=lambda: 0.0).delay(1, 0.0) == 1


def test_the_last_wait_ends_at_the_close_of_the_window() -> None:
    schedule = RetrySchedule(base=5.0, cap=3600.0, window=DAY, uniform=lambda: 0.999999)
    assert schedule.delay(30, DAY - 100.5) == 101
    assert schedule.delay(31, DAY) is None
    assert schedule.delay(31, DAY + 3.0) is None


def test_a_short_window_for_tests_and_development() -> None:
    made = attempts_until_given_up(RetrySchedule(base=1.0, cap=1.0, window=5.0))
    assert made == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
