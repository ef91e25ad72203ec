"""A rolling upgrade: a producer on newer contracts, a worker still on the old ones."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from celery import Celery

from contracts import SendEmail
from contracts.compat import compare, current_schemas
from contracts.routing import contract_for
from switchyard_runtime.celery_app import create_celery_app
from switchyard_runtime.settings import PlatformSettings, load_settings
from tests.conftest import System
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.e2e


class SendEmailNext(SendEmail):
    """What a next release might add to ``email.send``: optional fields only."""

    priority: str = "normal"
    tracking: dict[str, str] | None = None


@pytest.fixture
def producer(system: System, monkeypatch: pytest.MonkeyPatch) -> Iterator[Celery]:
    monkeypatch.setenv("AMQP_URL", system.env["AMQP_URL"])
    monkeypatch.setenv("DATABASE_URL", system.env["DATABASE_URL"])
    app = create_celery_app("newer-producer", load_settings(PlatformSettings))
    yield app
    app.close()


def test_the_next_contract_is_a_compatible_change() -> None:
    now = current_schemas()
    nxt = {
        **now,
        "email.send": {**now["email.send"], "payload": SendEmailNext.model_json_schema()},
    }
    assert compare(now, nxt) == []


def test_a_newer_producer_is_served_by_a_worker_with_the_old_models(
    producer: Celery, smtp_sink: SmtpSink
) -> None:
    subject = f"rolling {uuid.uuid4().hex[:8]}"
    payload = SendEmailNext(
        to=["ada@example.com"],
        subject=subject,
        text="hi",
        priority="high",
        tracking={"campaign": "autumn"},
    )
    kwargs = payload.to_wire()
    assert kwargs["priority"] == "high"
    route = contract_for("email.send").route(kwargs)
    result = producer.send_task(
        "email.send",
        kwargs=kwargs,
        queue=route["queue"],
        exchange=route["exchange"],
        routing_key=route["routing_key"],
    )
    outcome = result.get(timeout=60)
    assert result.state == "SUCCESS"
    assert outcome["accepted"] == ["ada@example.com"]
    assert len(smtp_sink.mailbox.wait_for(subject)) == 1
