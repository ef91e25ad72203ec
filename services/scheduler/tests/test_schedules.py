"""The schedule table and its SCHEDULE_<NAME> overrides."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from contracts import StartWorkflow, WorkflowKind, route_task
from contracts.workflows import BACKEND_CLEANUP, SCHEDULE_NAME_PATTERN
from scheduler.cadence import Cron, Every
from scheduler.config import Settings
from scheduler.schedules import (
    SCHEDULES,
    Schedule,
    ScheduleConfigError,
    email_activity_report,
    load,
    timetable,
)

TICK = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)


def settings(**values: object) -> Settings:
    return Settings.model_validate({"report_recipients": "ops@example.com", **values})


def by_name(name: str) -> Schedule:
    return next(schedule for schedule in SCHEDULES if schedule.name == name)


def test_the_table_has_the_daily_report_and_the_result_clean_up() -> None:
    assert [schedule.name for schedule in SCHEDULES] == ["email_activity", "backend_cleanup"]
    assert by_name("email_activity").cadence == Cron("0 6 * * *")
    assert by_name("backend_cleanup").cadence == Cron("0 4 * * *")


def test_names_are_unique_and_become_origins_and_variables() -> None:
    names = [schedule.name for schedule in SCHEDULES]
    assert len(names) == len(set(names))
    for schedule in SCHEDULES:
        assert re.fullmatch(SCHEDULE_NAME_PATTERN, schedule.name)
        assert schedule.variable == f"SCHEDULE_{schedule.name.upper()}"
        assert schedule.about


def test_every_job_is_a_workflow_of_its_own_schedule_or_a_routed_task() -> None:
    for schedule in SCHEDULES:
        job = schedule.job(TICK, settings())
        if isinstance(job, StartWorkflow):
            assert job.schedule == schedule.name
            assert job.tick == TICK
            StartWorkflow.from_wire(job.to_wire())
        else:
            # A bare task name must reach a queue some worker consumes, not `unroutable`.
            assert route_task(job, (), {}, {}) is not None


def test_the_daily_report_covers_the_day_before_the_tick_and_is_mailed() -> None:
    job = email_activity_report(TICK, settings(report_recipients="a@example.com, b@example.com"))
    assert isinstance(job, StartWorkflow)
    assert job.kind is WorkflowKind.REPORT
    assert job.tenant == "system"
    assert job.request == {
        "kind": "email_activity",
        "period": {"start": "2026-02-28", "end": "2026-02-28"},
        "format": "csv",
        "deliver_to": ["a@example.com", "b@example.com"],
    }


def test_the_tenant_comes_from_scheduler_tenant() -> None:
    job = email_activity_report(TICK, settings(scheduler_tenant="ops"))
    assert isinstance(job, StartWorkflow)
    assert job.tenant == "ops"


def test_the_clean_up_is_celerys_task() -> None:
    assert by_name("backend_cleanup").job(TICK, settings()) == BACKEND_CLEANUP


def test_defaults_without_overrides() -> None:
    table = timetable(settings(), {})
    assert {(a.name, a.cadence) for a in table.active} == {
        ("email_activity", Cron("0 6 * * *")),
        ("backend_cleanup", Cron("0 4 * * *")),
    }
    assert table.off == {}


def test_the_daily_report_is_off_without_recipients() -> None:
    table = timetable(settings(report_recipients=""), {"SCHEDULE_EMAIL_ACTIVITY": "2"})
    assert [a.name for a in table.active] == ["backend_cleanup"]
    assert table.off == {"email_activity": "REPORT_RECIPIENTS is empty"}


def test_overrides_by_variable() -> None:
    table = timetable(
        settings(),
        {
            "SCHEDULE_EMAIL_ACTIVITY": "2",
            "SCHEDULE_BACKEND_CLEANUP": "off",
            "UNRELATED": "x",
        },
    )
    assert [(a.name, a.cadence) for a in table.active] == [("email_activity", Every(2))]
    assert table.off == {"backend_cleanup": "SCHEDULE_BACKEND_CLEANUP=off"}
    crontab = timetable(settings(), {"SCHEDULE_BACKEND_CLEANUP": "15 3 * * sun"})
    assert crontab.active[1].cadence == Cron("15 3 * * sun")


def test_an_empty_override_is_no_override() -> None:
    table = timetable(settings(), {"SCHEDULE_EMAIL_ACTIVITY": ""})
    assert table.active[0].cadence == Cron("0 6 * * *")


def test_every_bad_variable_is_named() -> None:
    with pytest.raises(ScheduleConfigError) as error:
        timetable(
            settings(),
            {
                "SCHEDULE_EMAIL_ACTIVITY": "every day",
                "SCHEDULE_BACKEND_CLEANUP": "0",
                "SCHEDULE_EMAIL_ACTIVTY": "2",
            },
        )
    lines = error.value.lines
    assert lines[0].startswith("  SCHEDULE_EMAIL_ACTIVITY: expected 'off', a whole number")
    assert lines[1].startswith("  SCHEDULE_BACKEND_CLEANUP: expected")
    assert lines[2] == (
        "  SCHEDULE_EMAIL_ACTIVTY: no schedule of that name "
        "(there are: backend_cleanup, email_activity)"
    )


def test_load_exits_2_naming_the_variable(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        load(settings(), {"SCHEDULE_EMAIL_ACTIVITY": "61 * * * *"})
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("configuration error in schedules:\n  SCHEDULE_EMAIL_ACTIVITY: ")
    assert "Traceback" not in err
