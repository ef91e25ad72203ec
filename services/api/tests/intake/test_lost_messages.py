"""What a lost message's headers say: whose workflow, and why it was lost (pure)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from api.intake.lost_messages import DEAD_LETTER_EXCHANGES, lost_message
from switchyard_runtime.dead_letters import QUEUE_HEADER, REASON_HEADER

WORKFLOW_ID = uuid4()


def headers(**extra: Any) -> dict[str, Any]:
    return {"id": "task-1", "task": "email.send", "workflow_id": str(WORKFLOW_ID), **extra}


def dead_letter(exchange: str = "email.dlx", queue: str = "email.transactional") -> dict[str, Any]:
    return {"exchange": exchange, "routing_key": queue}


def test_the_tap_knows_every_domain_s_dead_letter_exchange() -> None:
    assert {"email.dlx", "reports.dlx", "workflows.dlx"} <= DEAD_LETTER_EXCHANGES
    assert "unroutable" not in DEAD_LETTER_EXCHANGES


def test_a_message_no_binding_matched_is_unroutable() -> None:
    lost = lost_message(headers(), {"exchange": "email", "routing_key": "email.send.nowhere"})
    assert (lost.task_id, lost.task_name, lost.workflow_id) == ("task-1", "email.send", WORKFLOW_ID)
    assert lost.error == {
        "type": "Unroutable",
        "message": "no queue is bound to routing key 'email.send.nowhere' on exchange 'email';"
        " the message waits in unroutable",
    }


@pytest.mark.parametrize("reason", ["delivery_limit", "rejected"])
def test_a_message_the_broker_dead_lettered_fails_with_the_broker_s_reason(reason: str) -> None:
    deaths = [{"reason": reason, "queue": "reports.default", "count": 1, "exchange": "reports"}]
    lost = lost_message(headers(**{"x-death": deaths}), dead_letter("reports.dlx"))
    assert lost.error == {
        "type": "DeadLettered",
        "message": f"reports.default dead-lettered the message ({reason});"
        " it waits in reports.default.dlq",
    }


def test_the_latest_death_is_the_reason() -> None:
    deaths = [
        {"reason": "delivery_limit", "queue": "email.bulk"},
        {"reason": "rejected", "queue": "email.transactional"},
    ]
    lost = lost_message(headers(**{"x-death": deaths}), dead_letter(queue="email.bulk"))
    assert "email.bulk dead-lettered the message (delivery_limit)" in lost.error["message"]


def test_a_worker_s_reason_is_the_error_the_worker_stored() -> None:
    refused = headers(
        **{REASON_HEADER: "UnknownTask: this worker does not run 'email.sned'", QUEUE_HEADER: "q"}
    )
    lost = lost_message(refused, dead_letter())
    assert lost.error == {"type": "UnknownTask", "message": "this worker does not run 'email.sned'"}


def test_a_replayed_dead_letter_that_no_binding_matches_is_unroutable() -> None:
    replay = headers(**{REASON_HEADER: "UnknownTask: x", "x-death": [{"reason": "rejected"}]})
    lost = lost_message(replay, {"exchange": "email", "routing_key": "nowhere"})
    assert lost.error["type"] == "Unroutable"


@pytest.mark.parametrize("workflow_id", [None, "", "not-a-uuid", 42])
def test_a_message_without_a_workflow_names_none(workflow_id: Any) -> None:
    raw = headers(workflow_id=workflow_id)
    assert lost_message(raw, dead_letter()).workflow_id is None


def test_headers_that_are_not_celery_s_still_give_a_reason() -> None:
    lost = lost_message({"x-death": "garbage"}, dead_letter())
    assert (lost.task_id, lost.workflow_id) == (None, None)
    assert lost.error["type"] == "DeadLettered"
