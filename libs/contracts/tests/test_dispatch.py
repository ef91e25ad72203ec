"""Producing contract tasks: task_name_of, dispatch (validation before publish), signature."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import uuid4

import pytest
from celery import Celery, Signature
from pydantic import ValidationError

from contracts import (
    EmailSent,
    GenerateReport,
    Lane,
    Period,
    SendEmail,
    dispatch,
    signature,
    task_name_of,
)
from contracts.email import EmailContent


def email(**overrides: Any) -> SendEmail:
    data: dict[str, Any] = {"to": ["ada@example.com"], "subject": "Hi", "text": "Hello"}
    data.update(overrides)
    return SendEmail.model_validate(data)


def report() -> GenerateReport:
    return GenerateReport(
        kind="email_activity",
        period=Period(start=date(2024, 1, 1), end=date(2024, 1, 31)),
        report_id=uuid4(),
    )


class SentTask:
    def __init__(self, task_id: str) -> None:
        self.id = task_id


class RecordingSend:
    """Stands in for ``Celery.send_task`` on one app instance; records instead of publishing."""

    def __init__(self) -> None:
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> SentTask:
        self.calls.append((args, kwargs))
        return SentTask(kwargs.get("task_id") or "generated-id")


@pytest.fixture
def sent(app: Celery, monkeypatch: pytest.MonkeyPatch) -> RecordingSend:
    recorder = RecordingSend()
    monkeypatch.setattr(app, "send_task", recorder)
    return recorder


# --- task_name_of ---------------------------------------------------------------------


def test_task_name_of_each_payload() -> None:
    assert task_name_of(email()) == "email.send"
    assert task_name_of(report()) == "report.generate"


@pytest.mark.parametrize(
    "message",
    [
        EmailSent(message_id="m", accepted=[]),
        Period(start=date(2024, 1, 1), end=date(2024, 1, 1)),
        EmailContent(to=["a@example.com"], subject="s", text="t"),
    ],
    ids=["result-model", "nested-model", "base-of-a-payload"],
)
def test_task_name_of_rejects_models_that_are_not_payloads(message: Any) -> None:
    with pytest.raises(TypeError, match="is not the payload of any task contract"):
        task_name_of(message)


# --- dispatch -------------------------------------------------------------------------


def test_dispatch_publishes_by_name_with_the_contract_route(
    app: Celery, sent: RecordingSend
) -> None:
    payload = email(lane="bulk")

    task_id = dispatch(app, payload, task_id="t-1", headers={"workflow_id": "w-1"})

    assert task_id == "t-1"
    assert sent.calls == [
        (
            ("email.send",),
            {
                "kwargs": payload.to_wire(),
                "task_id": "t-1",
                "exchange": "email",
                "routing_key": "email.send.bulk",
                "queue": "email.bulk",
                "headers": {"workflow_id": "w-1"},
                # Logs and monitors see the arguments' names, not the email.
                "argsrepr": "()",
                "kwargsrepr": "{to, cc, bcc, subject, text, html, lane, attachments, tenant}",
            },
        )
    ]


def test_dispatch_sends_json_ready_kwargs(app: Celery, sent: RecordingSend) -> None:
    payload = report()

    dispatch(app, payload)

    ((_, options),) = sent.calls
    assert options["kwargs"]["report_id"] == str(payload.report_id)
    assert options["kwargs"]["period"] == {"start": "2024-01-01", "end": "2024-01-31"}
    assert options["queue"] == "reports.default"
    assert options["routing_key"] == "report.generate.default"
    assert options["exchange"] == "reports"


def test_dispatch_returns_the_id_celery_assigned(app: Celery, sent: RecordingSend) -> None:
    assert dispatch(app, email()) == "generated-id"
    ((_, options),) = sent.calls
    assert options["task_id"] is None
    assert options["headers"] == {}


def test_dispatch_copies_the_headers(app: Celery, sent: RecordingSend) -> None:
    headers = {"workflow_id": "w"}
    dispatch(app, email(), headers=headers)
    ((_, options),) = sent.calls
    assert options["headers"] == headers
    assert options["headers"] is not headers


def test_dispatch_validates_before_publishing(app: Celery, sent: RecordingSend) -> None:
    unchecked = SendEmail.model_construct(
        to=["ada@example.com"],
        cc=[],
        bcc=[],
        subject="a\nb",
        text="t",
        html=None,
        lane=Lane.TRANSACTIONAL,
        attachments=[],
        tenant="default",
    )

    with pytest.raises(ValidationError, match="single line"):
        dispatch(app, unchecked)
    assert sent.calls == []


def test_dispatch_refuses_a_model_that_is_no_payload(app: Celery, sent: RecordingSend) -> None:
    with pytest.raises(TypeError):
        dispatch(app, EmailSent(message_id="m", accepted=[]))
    assert sent.calls == []


# --- signature ------------------------------------------------------------------------


def test_signature_is_immutable_and_routed_by_the_contracts(app: Celery) -> None:
    payload = email(lane="bulk")

    sig = signature(app, payload, task_id="t-9", headers={"workflow_id": "w-9"})

    assert isinstance(sig, Signature)
    assert sig.task == "email.send"
    assert sig.immutable is True
    assert tuple(sig.args) == ()
    assert sig.kwargs == payload.to_wire()
    assert sig.options == {
        "task_id": "t-9",
        "queue": "email.bulk",
        "exchange": "email",
        "routing_key": "email.send.bulk",
        "headers": {"workflow_id": "w-9"},
        "argsrepr": "()",
        "kwargsrepr": "{to, cc, bcc, subject, text, html, lane, attachments, tenant}",
    }
    assert sig.app is app


def test_signature_without_headers_sets_none(app: Celery) -> None:
    sig = signature(app, report(), task_id="t-10")
    assert sig.options == {
        "task_id": "t-10",
        "queue": "reports.default",
        "exchange": "reports",
        "routing_key": "report.generate.default",
        "argsrepr": "()",
        "kwargsrepr": "{kind, period, format, tenant, report_id}",
    }


def test_signature_ignores_a_parent_result(app: Celery) -> None:
    # In a chain, an immutable signature does not receive the previous task's result.
    sig = signature(app, email(), task_id="t-11")
    cloned = sig.clone(args=("parent result",))
    assert tuple(cloned.args) == ()


def test_signature_validates_the_payload(app: Celery) -> None:
    unchecked = SendEmail.model_construct(
        to=["ada@example.com"],
        cc=[],
        bcc=[],
        subject="s",
        text=None,
        html=None,
        lane=Lane.TRANSACTIONAL,
        attachments=[],
        tenant="default",
    )
    with pytest.raises(ValidationError):
        signature(app, unchecked, task_id="t-12")
