"""The schedule table: what runs when, declared as data (UTC).

To add a schedule, add a :class:`Schedule` to :data:`SCHEDULES`: a name (lower case; it
becomes the workflow's origin ``schedule:<name>`` and the variable ``SCHEDULE_<NAME>``),
a default cadence, and a function from the tick (the nominal fire time) to what is sent.
A scheduled run is a workflow: return a :class:`~contracts.StartWorkflow` whose request
is the body of the HTTP route of its kind. Only maintenance without a tenant (Celery's
result clean-up) is sent as a bare task name.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts import StartWorkflow, WorkflowKind
from contracts.workflows import BACKEND_CLEANUP
from scheduler import cadence
from scheduler.cadence import Cadence, Cron
from scheduler.config import Settings

#: What a tick sends: a workflow to start, or the name of a maintenance task.
Job = StartWorkflow | str


@dataclass(frozen=True)
class Schedule:
    """One entry of the table."""

    name: str
    cadence: Cadence
    job: Callable[[datetime, Settings], Job]
    about: str
    #: Why the schedule cannot run with these settings, or ``None`` when it can.
    unavailable: Callable[[Settings], str | None] = lambda settings: None

    @property
    def variable(self) -> str:
        """The environment variable that overrides the cadence."""
        return f"SCHEDULE_{self.name.upper()}"


def email_activity_report(tick: datetime, settings: Settings) -> Job:
    """The day before the tick's email activity as CSV, mailed to ``REPORT_RECIPIENTS``."""
    day = (tick - timedelta(days=1)).date().isoformat()
    return StartWorkflow(
        schedule="email_activity",
        tick=tick,
        tenant=settings.scheduler_tenant,
        kind=WorkflowKind.REPORT,
        request={
            "kind": "email_activity",
            "period": {"start": day, "end": day},
            "format": "csv",
            "deliver_to": list(settings.report_recipients),
        },
    )


def _no_recipients(settings: Settings) -> str | None:
    return None if settings.report_recipients else "REPORT_RECIPIENTS is empty"


SCHEDULES: tuple[Schedule, ...] = (
    Schedule(
        name="email_activity",
        cadence=Cron("0 6 * * *"),
        job=email_activity_report,
        about="yesterday's email activity (CSV), mailed to REPORT_RECIPIENTS",
        unavailable=_no_recipients,
    ),
    Schedule(
        name="backend_cleanup",
        cadence=Cron("0 4 * * *"),
        job=lambda tick, settings: BACKEND_CLEANUP,
        about="delete task results older than result_expires (run by the API's intake)",
    ),
)


@dataclass(frozen=True)
class Active:
    """A schedule that runs, with the cadence it runs on."""

    schedule: Schedule
    cadence: Cadence

    @property
    def name(self) -> str:
        return self.schedule.name


@dataclass(frozen=True)
class Timetable:
    """Which schedules run and which do not (with the reason), for these settings."""

    active: tuple[Active, ...]
    off: dict[str, str]


class ScheduleConfigError(Exception):
    """One or more ``SCHEDULE_<NAME>`` variables are malformed; lines name each."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def timetable(
    settings: Settings,
    environ: Mapping[str, str],
    table: tuple[Schedule, ...] = SCHEDULES,
) -> Timetable:
    """Apply the ``SCHEDULE_<NAME>`` overrides and each schedule's own conditions.

    An empty override means none. Raises :class:`ScheduleConfigError` naming every
    malformed variable and every ``SCHEDULE_`` variable that names no schedule.
    """
    problems: list[str] = []
    active: list[Active] = []
    off: dict[str, str] = {}
    for schedule in table:
        chosen: Cadence | None = schedule.cadence
        override = environ.get(schedule.variable, "").strip()
        if override:
            try:
                chosen = cadence.parse(override)
            except ValueError as exc:
                problems.append(f"  {schedule.variable}: {exc}")
                continue
        reason = schedule.unavailable(settings)
        if chosen is None:
            off[schedule.name] = f"{schedule.variable}=off"
        elif reason is not None:
            off[schedule.name] = reason
        else:
            active.append(Active(schedule, chosen))
    known = {schedule.variable for schedule in table}
    for variable in sorted(environ):
        if variable.startswith("SCHEDULE_") and variable not in known:
            names = ", ".join(sorted(schedule.name for schedule in table))
            problems.append(f"  {variable}: no schedule of that name (there are: {names})")
    if problems:
        raise ScheduleConfigError(problems)
    return Timetable(tuple(active), off)


def load(settings: Settings, environ: Mapping[str, str] | None = None) -> Timetable:
    """The schedules of this process; exits 2 naming each bad variable (as settings do)."""
    try:
        return timetable(settings, os.environ if environ is None else environ)
    except ScheduleConfigError as exc:
        sys.stderr.write("\n".join(["configuration error in schedules:", *exc.lines]) + "\n")
        raise SystemExit(2) from None
