"""When a schedule fires: every N seconds or on a crontab, always in UTC.

Ticks are deterministic: every replica computes the same nominal fire times (intervals
are aligned to the Unix epoch, crontabs to their minutes), so a tick is identified by
its schedule and its nominal time wherever and whenever it is sent.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol

from celery.schedules import crontab

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
OFF = "off"
#: How many missed ticks of a schedule are made up, at most (the latest ones).
MAX_CATCH_UP = 3


class Cadence(Protocol):
    def next_after(self, moment: datetime) -> datetime:
        """The first tick strictly after ``moment``."""
        ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Every:
    """A tick every ``seconds`` seconds, on multiples of it since the Unix epoch."""

    seconds: int

    def __post_init__(self) -> None:
        if self.seconds < 1:
            raise ValueError("an interval is at least one second")

    def next_after(self, moment: datetime) -> datetime:
        step = timedelta(seconds=self.seconds)
        return EPOCH + ((moment - EPOCH) // step + 1) * step

    def describe(self) -> str:
        return f"every {self.seconds} s"


class _UtcCrontab(crontab):
    """Celery's crontab, evaluated in UTC without consulting a Celery app."""

    @property  # celery-types says str; Celery itself takes a tzinfo
    def tz(self) -> tzinfo:  # type: ignore[override]
        return UTC

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class Cron:
    """A five-field crontab (minute hour day-of-month month day-of-week), in UTC.

    Parsed and evaluated by Celery's own ``crontab`` (day-of-week 0-6 from Sunday, or
    names; a day of the month and a day of the week must both match).
    """

    expression: str
    _crontab: crontab = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fields = self.expression.split()
        if len(fields) != 5:
            raise ValueError(f"a crontab has five fields, not {len(fields)}")
        object.__setattr__(self, "expression", " ".join(fields))
        object.__setattr__(self, "_crontab", _UtcCrontab.from_string(self.expression))

    def next_after(self, moment: datetime) -> datetime:
        start, delta, _ = self._crontab.remaining_delta(moment, tz=UTC)
        following: datetime = start + delta
        if following <= moment:  # a moment inside a firing minute: that minute has passed
            start, delta, _ = self._crontab.remaining_delta(
                moment.replace(second=59, microsecond=999999), tz=UTC
            )
            following = start + delta
        return following.astimezone(UTC)

    def describe(self) -> str:
        return f"crontab '{self.expression}' (UTC)"


def due_ticks(
    cadence: Cadence, last_run: datetime, now: datetime, limit: int = MAX_CATCH_UP
) -> list[datetime]:
    """The ticks after ``last_run`` that are not after ``now``, oldest first; at most the
    latest ``limit`` of them.

    Ticks missed while no scheduler led (a failover, an outage) are made up, but only a
    few: a failover of seconds loses no tick, and a long outage sends a handful, not a
    backlog (the intake skips those that find the previous run unfinished).
    """
    if isinstance(cadence, Every):  # skip the long way over a long outage
        last_run = max(last_run, now - timedelta(seconds=cadence.seconds) * (limit + 1))
    ticks: deque[datetime] = deque(maxlen=limit)
    tick = cadence.next_after(last_run)
    while tick <= now:
        ticks.append(tick)
        tick = cadence.next_after(tick)
    return list(ticks)


def parse(value: str) -> Cadence | None:
    """A ``SCHEDULE_<NAME>`` value: ``off`` (``None``), whole seconds, or a crontab.

    Raises ``ValueError`` saying what is accepted.
    """
    text = value.strip()
    if text.lower() == OFF:
        return None
    try:
        return Every(int(text)) if text.isdigit() else Cron(text)
    except ValueError as exc:
        raise ValueError(
            f"expected 'off', a whole number of seconds, or a five-field crontab "
            f"('minute hour day-of-month month day-of-week'), got {value!r}: {exc}"
        ) from None
