"""Plans: task ids chosen up front, routing taken from the contracts (no broker needed)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any
from uuid import UUID

import pytest
from celery import Celery

from api.workflows.plans import Demand, parallel, sequence, single
from contracts import (
    GENERATE_REPORT,
    SEND_EMAIL,
    GenerateReport,
    Lane,
    Period,
    ReportKind,
    SendEmail,
    contract_for,
)
from switchyard_runtime.celery_app import create_celery_app
from switchyard_runtime.settings import PlatformSettings


@pytest.fixture
def app() -> Iterator[Celery]:
    celery = create_celery_app("api-tests", PlatformSettings())
    yield celery
    celery.close()


def email(lane: Lane = Lane.TRANSACTIONAL) -> SendEmail:
    return SendEmail(to=["ada@example.com"], subject="Hi", text="Hello", lane=lane)


def report() -> GenerateReport:
    return GenerateReport(
        kind=ReportKind.EMAIL_ACTIVITY, period=Period(start=date(2025, 1, 1), end=date(2025, 1, 31))
    )


def is_uuid(value: Any) -> bool:
    return isinstance(value, str) and str(UUID(value)) == value


def test_a_single_plan_has_one_step_whose_task_id_is_chosen_before_publishing(app: Celery) -> None:
    payload = email()
    plan = single(app, "email", payload)
    assert plan.kind == "email"
    assert plan.shape == "single"
    assert isinstance(plan.workflow_id, UUID)
    [step] = plan.steps
    assert step.name == SEND_EMAIL
    assert is_uuid(step.task_id)
    assert plan.canvas["task"] == SEND_EMAIL
    assert plan.canvas["options"]["task_id"] == step.task_id
    assert plan.canvas["kwargs"] == payload.to_wire()
    assert plan.canvas["immutable"] is True


def test_every_plan_gets_fresh_workflow_and_task_ids(app: Celery) -> None:
    first, second = single(app, "email", email()), single(app, "email", email())
    assert first.workflow_id != second.workflow_id
    assert first.steps[0].task_id != second.steps[0].task_id


@pytest.mark.parametrize(
    ("lane", "queue", "routing_key"),
    [
        (Lane.TRANSACTIONAL, "email.transactional", "email.send.transactional"),
        (Lane.BULK, "email.bulk", "email.send.bulk"),
    ],
)
def test_an_email_is_routed_to_its_lane_by_the_contract(
    app: Celery, lane: Lane, queue: str, routing_key: str
) -> None:
    payload = email(lane)
    options = single(app, "email", payload).canvas["options"]
    assert {k: options[k] for k in ("exchange", "routing_key", "queue")} == {
        "exchange": "email",
        "routing_key": routing_key,
        "queue": queue,
    }
    assert contract_for(SEND_EMAIL).route(payload.to_wire()) == {
        "exchange": options["exchange"],
        "routing_key": options["routing_key"],
        "queue": options["queue"],
    }


def test_a_report_is_routed_by_its_contract(app: Celery) -> None:
    plan = single(app, "report", report())
    assert plan.steps[0].name == GENERATE_REPORT
    options = plan.canvas["options"]
    assert options["exchange"] == "reports"
    assert options["routing_key"] == "report.generate.default"
    assert options["queue"] == "reports.default"


def test_the_workflow_id_and_request_id_travel_as_headers(app: Celery) -> None:
    plan = single(app, "email", email(), request_id="req-42")
    assert plan.canvas["options"]["headers"] == {
        "workflow_id": str(plan.workflow_id),
        "request_id": "req-42",
    }
    without = single(app, "email", email())
    assert without.canvas["options"]["headers"] == {"workflow_id": str(without.workflow_id)}


def test_the_canvas_survives_the_outbox_json_and_rebuilds_with_the_same_options(
    app: Celery,
) -> None:
    plan = single(app, "email", email(Lane.BULK), request_id="r")
    stored = json.loads(json.dumps(plan.canvas))
    rebuilt = app.signature(stored)
    assert rebuilt.task == SEND_EMAIL
    assert rebuilt.options["task_id"] == plan.steps[0].task_id
    assert rebuilt.options["queue"] == "email.bulk"
    assert rebuilt.options["headers"]["workflow_id"] == str(plan.workflow_id)


def test_a_sequence_is_a_chain_whose_links_carry_the_step_task_ids(app: Celery) -> None:
    plan = sequence(app, "report-by-email", [report(), email()], request_id="r")
    assert plan.shape == "chain"
    assert [s.name for s in plan.steps] == [GENERATE_REPORT, SEND_EMAIL]
    canvas = json.loads(json.dumps(plan.canvas))
    assert canvas["task"] == "celery.chain"
    links = canvas["kwargs"]["tasks"]
    assert [link["options"]["task_id"] for link in links] == [s.task_id for s in plan.steps]
    assert [link["options"]["queue"] for link in links] == [
        "reports.default",
        "email.transactional",
    ]
    for link in links:
        assert link["options"]["headers"]["workflow_id"] == str(plan.workflow_id)


def test_a_parallel_plan_is_a_group_or_with_then_a_chord(app: Celery) -> None:
    group_plan = parallel(app, "fan-out", [email(), email(Lane.BULK)])
    assert group_plan.shape == "group"
    assert len(group_plan.steps) == 2
    chord_plan = parallel(app, "reports-then-email", [report(), report()], then=email())
    assert chord_plan.shape == "chord"
    assert [s.name for s in chord_plan.steps] == [GENERATE_REPORT, GENERATE_REPORT, SEND_EMAIL]
    canvas = json.loads(json.dumps(chord_plan.canvas))
    header_ids = [member["options"]["task_id"] for member in canvas["kwargs"]["header"]]
    assert header_ids == [s.task_id for s in chord_plan.steps[:2]]
    assert canvas["kwargs"]["body"]["options"]["task_id"] == chord_plan.steps[2].task_id
    # The callback's queue is in its options: chord_unlock is scheduled next to it.
    assert canvas["kwargs"]["body"]["options"]["queue"] == "email.transactional"


def test_a_plan_asks_for_every_email_steps_recipients_and_lanes_and_its_reports(
    app: Celery,
) -> None:
    one = SendEmail(
        to=["a@example.com", "b@example.com"],
        cc=["c@example.com"],
        bcc=["d@example.com"],
        subject="Hi",
        text="x",
        lane=Lane.BULK,
    )
    assert single(app, "email", one).demand == Demand(recipients=4, reports=0, lanes=("bulk",))
    assert single(app, "report", report()).demand == Demand(recipients=0, reports=1, lanes=())
    chained = sequence(app, "report", [report(), email()])
    assert chained.demand == Demand(recipients=1, reports=1, lanes=("transactional",))
    chord = parallel(app, "report_batch", [report(), report(), report()], then=one)
    assert chord.demand == Demand(recipients=4, reports=3, lanes=("bulk",))
    both = parallel(app, "x", [email(), one, email(Lane.TRANSACTIONAL)])
    assert both.demand == Demand(recipients=6, reports=0, lanes=("transactional", "bulk"))
