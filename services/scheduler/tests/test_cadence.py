"""Cadences: epoch-aligned intervals, UTC crontabs, due ticks, and SCHEDULE_<NAME> values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scheduler.cadence import MAX_CATCH_UP, Cron, Every, due_ticks, parse


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "moment", "expected"),
    [
        (2, "2026-11-23T06:00:00", "2026-11-23T06:00:02"),
        (2, "2026-11-23T06:00:01.999999", "2026-11-23T06:00:02"),
        (2, "2026-11-23T06:00:02.000001", "2026-11-23T06:00:04"),
        (60, "2026-11-23T06:00:30", "2026-11-23T06:01:00"),
        (86400, "2026-11-23T06:00:00", "2026-11-24T00:00:00"),
    ],
)
def test_intervals_tick_on_multiples_since_the_epoch(
    seconds: int, moment: str, expected: str
) -> None:
    assert Every(seconds).next_after(at(moment)) == at(expected)


def test_every_replica_computes_the_same_ticks_whenever_it_started() -> None:
    every = Every(7)
    early, late = at("2026-11-23T06:00:00.123"), at("2026-11-23T06:00:05.9")
    assert every.next_after(early) == every.next_after(late)
    assert (every.next_after(early) - at("1970-01-01T00:00:00")).total_seconds() % 7 == 0


@pytest.mark.parametrize(
    ("expression", "moment", "expected"),
    [
        ("0 6 * * *", "2026-11-23T05:59:30", "2026-11-23T06:00:00"),
        ("0 6 * * *", "2026-11-23T06:00:00", "2026-11-24T06:00:00"),
        ("0 6 * * *", "2026-11-23T06:00:30", "2026-11-24T06:00:00"),
        ("*/5 * * * *", "2026-11-23T06:02:30", "2026-11-23T06:05:00"),
        ("*/5 * * * *", "2026-11-23T23:59:00", "2026-11-24T00:00:00"),
        ("0 0 1 * *", "2026-11-23T00:00:00", "2026-12-01T00:00:00"),
        ("30 4 * * mon", "2026-11-23T04:30:00", "2026-11-30T04:30:00"),  # a Monday
        ("0 12 * * 1-5", "2026-11-27T13:00:00", "2026-11-30T12:00:00"),  # Friday afternoon
    ],
)
def test_crontabs_fire_on_their_minutes_in_utc(expression: str, moment: str, expected: str) -> None:
    assert Cron(expression).next_after(at(moment)) == at(expected)


def test_a_crontab_in_another_offset_is_the_same_instant() -> None:
    moment = at("2026-11-23T05:59:30").astimezone(datetime.now().astimezone().tzinfo)
    assert Cron("0 6 * * *").next_after(moment) == at("2026-11-23T06:00:00")


def test_nothing_is_due_before_the_next_tick() -> None:
    assert due_ticks(Every(2), at("2026-11-23T06:00:00.5"), at("2026-11-23T06:00:01.9")) == []


def test_the_tick_at_now_is_due() -> None:
    assert due_ticks(Every(2), at("2026-11-23T06:00:00"), at("2026-11-23T06:00:02")) == [
        at("2026-11-23T06:00:02")
    ]


def test_a_few_missed_ticks_are_made_up_oldest_first() -> None:
    ticks = due_ticks(Every(2), at("2026-11-23T06:00:00"), at("2026-11-23T06:00:05"))
    assert ticks == [at("2026-11-23T06:00:02"), at("2026-11-23T06:00:04")]


def test_after_a_long_outage_only_the_latest_few_ticks_are_sent() -> None:
    year = due_ticks(Every(2), at("2025-11-23T06:00:00"), at("2026-11-23T06:00:05"))
    assert len(year) == MAX_CATCH_UP
    assert year[-1] == at("2026-11-23T06:00:04")
    days = due_ticks(Cron("0 6 * * *"), at("2026-11-01T06:00:00"), at("2026-11-23T07:00:00"))
    assert days == [at(f"2026-11-{day}T06:00:00") for day in (21, 22, 23)]
    assert due_ticks(Every(2), at("2026-11-23T06:00:00"), at("2026-11-23T07:00:00"), limit=1) == [
        at("2026-11-23T07:00:00")
    ]


def test_ticks_come_out_aware_in_utc() -> None:
    [tick] = due_ticks(Cron("* * * * *"), at("2026-11-23T06:00:00"), at("2026-11-23T06:01:30"))
    assert tick.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("off", None),
        (" OFF ", None),
        ("2", Every(2)),
        ("86400", Every(86400)),
        ("0 6 * * *", Cron("0 6 * * *")),
        ("  */15  *  *  *  1-5 ", Cron("*/15 * * * 1-5")),
    ],
)
def test_override_values(value: str, expected: object) -> None:
    assert parse(value) == expected


@pytest.mark.parametrize(
    "value",
    ["0", "-2", "1.5", "2s", "soon", "0 6 * *", "0 6 * * * *", "61 * * * *", "0 25 * * *"],
)
def test_bad_override_values_say_what_is_accepted(value: str) -> None:
    with pytest.raises(ValueError, match="'off', a whole number of seconds, or a five-field"):
        parse(value)


def test_an_interval_is_at_least_a_second() -> None:
    with pytest.raises(ValueError, match="at least one second"):
        Every(0)
