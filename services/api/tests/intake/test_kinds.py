"""The intake builds the plan the HTTP route would build, under the tick's workflow id."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from celery import Celery

from api.intake.kinds import KINDS, InvalidRequest, plan_for
from api.intake.starts import origin_of
from contracts import GENERATE_REPORT, SEND_EMAIL, WorkflowKind
from contracts.workflows import workflow_id_for
from switchyard_runtime.celery_app import create_celery_app
from switchyard_runtime.settings import PlatformSettings

WORKFLOW_ID = workflow_id_for("email_activity", datetime(2026, 11, 23, 6, tzinfo=UTC))
PERIOD = {"start": "2026-11-22", "end": "2026-11-22"}


@pytest.fixture
def app() -> Iterator[Celery]:
    celery = create_celery_app("intake-tests", PlatformSettings())
    yield celery
    celery.close()


def links(canvas: dict[str, Any]) -> list[dict[str, Any]]:
    return list(json.loads(json.dumps(canvas))["kwargs"]["tasks"])


def test_every_kind_of_workflow_can_be_started() -> None:
    assert set(KINDS) == set(WorkflowKind)


def test_a_mailed_report_is_a_chain_under_the_given_workflow_id(app: Celery) -> None:
    request = {"kind": "email_activity", "period": PERIOD, "deliver_to": ["ops@example.com"]}
    plan, stored = plan_for(
        app, WorkflowKind.REPORT, request, tenant="system", workflow_id=WORKFLOW_ID
    )
    assert plan.workflow_id == WORKFLOW_ID
    assert (plan.kind, plan.shape) == ("report", "chain")
    assert [step.name for step in plan.steps] == [GENERATE_REPORT, SEND_EMAIL]
    generate, email = links(plan.canvas)
    for link in (generate, email):
        assert link["options"]["headers"]["workflow_id"] == str(WORKFLOW_ID)
    assert generate["kwargs"]["tenant"] == email["kwargs"]["tenant"] == "system"
    assert email["kwargs"]["attachments"] == [
        {"report_id": generate["kwargs"]["report_id"], "filename": None}
    ]
    # Stored as the route stores a request: the validated body with its defaults.
    assert stored == {**request, "format": "csv"}


def test_a_report_without_recipients_is_one_task(app: Celery) -> None:
    plan, _ = plan_for(
        app,
        WorkflowKind.REPORT,
        {"kind": "workflow_summary", "period": PERIOD},
        tenant="system",
        workflow_id=WORKFLOW_ID,
    )
    assert (plan.shape, plan.steps[0].name) == ("single", GENERATE_REPORT)


def test_an_email_and_a_report_batch(app: Celery) -> None:
    email, _ = plan_for(
        app,
        WorkflowKind.EMAIL,
        {"to": ["ops@example.com"], "subject": "Hi", "text": "Hello"},
        tenant="system",
        workflow_id=WORKFLOW_ID,
    )
    assert (email.kind, email.shape, email.canvas["kwargs"]["tenant"]) == (
        "email",
        "single",
        "system",
    )
    batch, _ = plan_for(
        app,
        WorkflowKind.REPORT_BATCH,
        {"reports": [{"kind": "email_activity", "period": PERIOD}] * 2, "deliver_to": ["o@x.io"]},
        tenant="system",
        workflow_id=WORKFLOW_ID,
    )
    assert (batch.kind, batch.shape, len(batch.steps)) == ("report_batch", "chord", 3)


@pytest.mark.parametrize(
    ("kind", "request_body", "problem"),
    [
        (WorkflowKind.REPORT, {"kind": "email_activity"}, "period: Field required"),
        (WorkflowKind.REPORT, {"kind": "podcast", "period": PERIOD}, "kind: Input should be"),
        (WorkflowKind.EMAIL, {"to": ["a@example.com"], "subject": "x", "txt": "y"}, "txt"),
    ],
)
def test_a_request_its_route_would_refuse_is_refused(
    app: Celery, kind: WorkflowKind, request_body: dict[str, Any], problem: str
) -> None:
    with pytest.raises(InvalidRequest, match=problem):
        plan_for(app, kind, request_body, tenant="system", workflow_id=WORKFLOW_ID)


def test_scheduled_runs_say_which_schedule_started_them() -> None:
    assert origin_of("email_activity") == "schedule:email_activity"
