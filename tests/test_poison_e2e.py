"""Poison and garbage on a work queue: dead-lettered with the reason, the worker serves on.

Each case publishes one broken message straight to ``email.transactional`` (as a buggy or
hostile producer would, past the API), then a good email. The broken one must be in
``email.transactional.dlq`` with ``x-switchyard-reason``; its task, when the headers name
one, is stored as failed with that reason as the API shows a step; and the email worker
still delivers the good one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from celery import Celery

from contracts import SendEmail, dispatch
from switchyard_runtime.celery_app import create_celery_app
from switchyard_runtime.dead_letters import QUEUE_HEADER, REASON_HEADER, ROUTING_KEY_HEADER
from switchyard_runtime.settings import PlatformSettings, load_settings
from tests.conftest import System
from tests.support.dead_letters import publish_raw, step_status, take_message, task_headers
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.e2e

QUEUE = "email.transactional"
DEAD_LETTER_QUEUE = "email.transactional.dlq"
ROUTING_KEY = "email.send.transactional"


def task_body(kwargs: dict[str, Any]) -> bytes:
    embed = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}
    return json.dumps([[], kwargs, embed]).encode()


GOOD_KWARGS = {"to": ["ada@example.com"], "subject": "never sent", "text": "x"}


@dataclass
class Case:
    body: bytes
    error_type: str
    reason: str  # how the reason header starts (after the error type)
    name: str | None = "email.send"  # the task header; None: no task headers at all
    content_type: str = "application/json"
    extra_headers: dict[str, Any] = field(default_factory=dict)


CASES = {
    "not JSON": Case(
        b"\x00{not json at all", "UndecodableMessage", "body is not valid application/json"
    ),
    "unknown task": Case(
        task_body(GOOD_KWARGS), "UnknownTask", "this worker does not run 'email.sned'", "email.sned"
    ),
    "invalid payload": Case(
        task_body({"to": ["nobody"], "subject": "a\nb", "text": "x"}),
        "InvalidPayload",
        "email.send payload rejected: to.0: ",
    ),
    "not a task's body": Case(
        json.dumps({"to": ["ada@example.com"]}).encode(),
        "InvalidMessage",
        "body is not a task's [args, kwargs, embed]",
    ),
    "pickle": Case(
        b"\x80\x04K\x01.",
        "InvalidMessage",
        "content type 'application/x-python-serialize' is not accepted",
        content_type="application/x-python-serialize",
    ),
    "no task headers": Case(
        json.dumps({"hello": "world"}).encode(),
        "InvalidMessage",
        "not a task message",
        name=None,
    ),
    "redelivered up to the limit": Case(
        task_body(GOOD_KWARGS),
        "DeliveryLimitReached",
        "redelivered 4 times; dead-lettered",
        extra_headers={"x-delivery-count": 4},
    ),
}


@pytest.fixture
def producer(system: System, monkeypatch: pytest.MonkeyPatch) -> Iterator[Celery]:
    monkeypatch.setenv("AMQP_URL", system.env["AMQP_URL"])
    monkeypatch.setenv("DATABASE_URL", system.env["DATABASE_URL"])
    app = create_celery_app("poison-tests", load_settings(PlatformSettings))
    yield app
    app.close()


@pytest.mark.parametrize("label", list(CASES))
def test_a_broken_message_is_dead_lettered_with_its_reason_and_the_worker_serves_on(
    label: str, system: System, producer: Celery, smtp_sink: SmtpSink
) -> None:
    case = CASES[label]
    task_id = str(uuid.uuid4())
    marker = uuid.uuid4().hex
    headers: dict[str, Any] = {"x-test-marker": marker, **case.extra_headers}
    if case.name is not None:
        headers.update(task_headers(case.name, task_id))
    publish_raw(
        system.env["AMQP_URL"],
        case.body,
        exchange="email",
        routing_key=ROUTING_KEY,
        headers=headers,
        content_type=case.content_type,
    )

    letter = take_message(
        system.env["AMQP_URL"],
        DEAD_LETTER_QUEUE,
        lambda letter: letter.headers.get("x-test-marker") == marker,
    )

    assert letter is not None, f"not dead-lettered:\n{system.email_worker.tail()}"
    reason = letter.headers[REASON_HEADER]
    assert reason.startswith(f"{case.error_type}: {case.reason}"), reason
    assert len(reason) <= 300
    assert letter.headers[QUEUE_HEADER] == QUEUE
    assert letter.headers[ROUTING_KEY_HEADER] == ROUTING_KEY
    assert letter.body == case.body, "the dead letter is the message as it was published"
    assert letter.content_type == case.content_type
    # A quorum queue shows x-delivery-count 0 on a first basic.get; never a stale count.
    assert letter.headers.get("x-delivery-count", 0) == 0, "a replay must not start counted"

    step = step_status(system.env["DATABASE_URL"], case.name or "?", task_id)
    if case.name is None:
        assert step["status"] == "queued"  # nothing names a task: no result row
    else:
        assert step["status"] == "failed", step
        assert step["error"]["type"] == case.error_type
        assert f"{case.error_type}: {step['error']['message']}" == reason
        assert step["finished_at"] is not None

    subject = f"after {label} {marker[:8]}"
    good = dispatch(producer, SendEmail(to=["ada@example.com"], subject=subject, text="hi"))
    assert producer.AsyncResult(good).get(timeout=60)["accepted"] == ["ada@example.com"]
    assert len(smtp_sink.mailbox.wait_for(subject)) == 1
    assert system.email_worker.alive()
