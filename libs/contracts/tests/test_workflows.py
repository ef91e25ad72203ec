"""The workflows domain: StartWorkflow, WorkflowStarted and the tick's workflow id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest
from pydantic import ValidationError

import contracts
from contracts import START_WORKFLOW, StartWorkflow, WorkflowKind, WorkflowStarted
from contracts.workflows import START, StartOutcome, workflow_id_for

TICK = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def start(**changes: object) -> StartWorkflow:
    fields: dict[str, object] = {
        "schedule": "email_activity",
        "tick": TICK,
        "tenant": "system",
        "kind": "report",
        "request": {
            "kind": "email_activity",
            "period": {"start": "2026-11-22", "end": "2026-11-22"},
        },
    }
    return StartWorkflow.model_validate({**fields, **changes})


def test_a_start_round_trips_the_wire() -> None:
    payload = start()
    wire = payload.to_wire()
    assert wire["tick"] == "2026-11-23T06:00:00Z"
    assert wire["kind"] == "report"
    assert StartWorkflow.from_wire(wire) == payload
    assert START.name == START_WORKFLOW == "workflow.start"
    assert START.payload is StartWorkflow and START.result is WorkflowStarted


def test_the_tick_must_be_timezone_aware() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        start(tick=datetime(2026, 11, 23, 6, 0))


@pytest.mark.parametrize("name", ["", "Email", "1st", "email-activity", "a" * 64])
def test_schedule_names_are_lower_case_identifiers(name: str) -> None:
    with pytest.raises(ValidationError):
        start(schedule=name)


def test_unknown_kinds_are_refused_and_unknown_fields_ignored() -> None:
    with pytest.raises(ValidationError):
        start(kind="podcast")
    assert StartWorkflow.from_wire({**start().to_wire(), "priority": 3}) == start()
    assert {kind.value for kind in WorkflowKind} == {"email", "report", "report_batch"}


def test_the_workflow_id_is_the_same_for_the_same_schedule_and_tick() -> None:
    same_instant = TICK.astimezone(timezone(timedelta(hours=2)))
    assert workflow_id_for("email_activity", TICK) == workflow_id_for(
        "email_activity", same_instant
    )
    assert workflow_id_for("email_activity", TICK).version == 5


def test_another_tick_or_schedule_is_another_workflow() -> None:
    ids = {
        workflow_id_for("email_activity", TICK),
        workflow_id_for("email_activity", TICK + timedelta(seconds=2)),
        workflow_id_for("email_activity", TICK + timedelta(microseconds=1)),
        workflow_id_for("backend_cleanup", TICK),
    }
    assert len(ids) == 4


def test_a_naive_tick_has_no_workflow_id() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        workflow_id_for("email_activity", datetime(2026, 11, 23, 6, 0))


def test_the_result_names_the_outcome() -> None:
    running = uuid4()
    result = WorkflowStarted(
        workflow_id=workflow_id_for("email_activity", TICK),
        outcome=StartOutcome.SKIPPED,
        unfinished=running,
    )
    assert WorkflowStarted.from_wire(result.to_wire()) == result
    assert result.to_wire()["outcome"] == "skipped"


def test_the_backend_clean_up_name_is_celerys() -> None:
    from contracts.workflows import BACKEND_CLEANUP

    assert BACKEND_CLEANUP == contracts.BACKEND_CLEANUP == "celery.backend_cleanup"
