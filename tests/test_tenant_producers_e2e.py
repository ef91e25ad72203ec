"""A tenant cannot be forged on the wire: only an entitled producer acts for a tenant.

A producer the platform does not know (a throwaway broker user with every permission on
the session's vhost, so the broker lets it publish anywhere) publishes by hand with pika,
as an attacker would, and with plain Celery on ``contracts`` alone, as another team
would. Asking for another tenant's stored report, or to start a workflow for another
tenant, is dead-lettered with the reason ``unauthorized`` and nothing is sent or
started; a plain email still goes out. The session's services run as ``guest``, their
own broker user, which is why the platform's own messages are entitled.
"""

from __future__ import annotations

import json
import urllib.parse
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pika  # type: ignore[import-untyped]
import psycopg
import pytest
from celery import Celery

from contracts import SEND_EMAIL, START_WORKFLOW, TASK_QUEUES, SendEmail, route_task
from contracts.workflows import workflow_id_for
from switchyard_runtime.dead_letters import REASON_HEADER
from tests.conftest import System, api_client
from tests.support import processes
from tests.support.broker_users import broker_user
from tests.support.dead_letters import DeadLetter, step_status, take_message, task_headers
from tests.support.polling import wait_for_workflow
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.e2e

EMAIL_DLQ = "email.transactional.dlq"
INTAKE_DLQ = "api.intake.dlq"
TODAY = datetime.now(UTC).date()
PERIOD = {"start": (TODAY - timedelta(days=7)).isoformat(), "end": TODAY.isoformat()}


@pytest.fixture(scope="module")
def outsider(broker: tuple[str, str | None], amqp_url: str) -> Iterator[str]:
    """The AMQP URL of a broker user nobody entitled to any tenant."""
    with broker_user(amqp_url, broker[1], prefix="outsider") as url:
        yield url


@pytest.fixture(scope="module")
def victim_report(system: System) -> tuple[str, str]:
    """Another tenant and one of its stored reports: ``(tenant, report_id)``."""
    tenant = f"victim-{uuid.uuid4().hex[:8]}"
    with api_client(system, processes.create_api_key(system.env, tenant)) as http:
        accepted = http.post(
            "/v1/reports", json={"kind": "email_activity", "period": PERIOD, "format": "csv"}
        ).json()
        assert wait_for_workflow(http, accepted["workflow_id"])["status"] == "succeeded"
    return tenant, accepted["report_ids"][0]


@pytest.fixture
def other_team(outsider: str) -> Iterator[Celery]:
    """Another team's producer: plain Celery, configured from ``contracts`` alone."""
    app = Celery("other-team", broker=outsider, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_queues=TASK_QUEUES,
        task_routes=(route_task,),
        task_create_missing_queues=False,
        broker_connection_retry_on_startup=True,
    )
    yield app
    app.close()


def user_of(url: str) -> str:
    return urllib.parse.unquote(urllib.parse.urlsplit(url).username or "")


def publish_by_hand(
    url: str,
    exchange: str,
    routing_key: str,
    name: str,
    kwargs: dict[str, Any],
    *,
    user_id: str | None,
) -> str:
    """Publish a task message with pika (no Celery) and wait for the confirm; its task id."""
    task_id = str(uuid.uuid4())
    embed = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(
            exchange,
            routing_key,
            json.dumps([[], kwargs, embed]).encode(),
            pika.BasicProperties(
                content_type="application/json",
                content_encoding="utf-8",
                headers=task_headers(name, task_id),
                delivery_mode=2,
                user_id=user_id,
            ),
        )
    finally:
        if connection.is_open:
            connection.close()
    return task_id


def dead_letter_of(system: System, queue: str, task_id: str) -> DeadLetter:
    letter = take_message(
        system.env["AMQP_URL"], queue, lambda found: found.headers.get("id") == task_id, 60
    )
    assert letter is not None, f"{task_id} was not dead-lettered into {queue}"
    return letter


def email(subject: str, **extra: Any) -> dict[str, Any]:
    return {"to": ["mallory@example.com"], "subject": subject, "text": "hello", **extra}


def test_the_broker_refuses_a_message_claiming_another_users_identity(
    system: System, outsider: str
) -> None:
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as refused:
        publish_by_hand(
            outsider,
            "email",
            "email.send.transactional",
            SEND_EMAIL,
            email("claims to be the api"),
            user_id="api",
        )
    assert refused.value.reply_code == 406  # PRECONDITION_FAILED: user_id is not the user


def test_another_tenants_stored_report_is_dead_lettered_and_never_mailed(
    system: System, outsider: str, victim_report: tuple[str, str], smtp_sink: SmtpSink
) -> None:
    tenant, report_id = victim_report
    forged = f"forged {uuid.uuid4().hex[:8]}"
    attaching = email(forged, tenant=tenant, attachments=[{"report_id": report_id}])
    route = ("email", "email.send.transactional", SEND_EMAIL)
    task_id = publish_by_hand(outsider, *route, attaching, user_id=user_of(outsider))

    letter = dead_letter_of(system, EMAIL_DLQ, task_id)
    assert letter.headers[REASON_HEADER] == (
        f"unauthorized: broker user {user_of(outsider)!r} is not entitled to act for tenant"
        f" {tenant!r}"
    )
    step = step_status(system.env["DATABASE_URL"], SEND_EMAIL, task_id)
    assert step["status"] == "failed" and step["error"]["type"] == "Unauthorized", step

    # The same producer's plain email, published after it, goes out; the forged never did.
    plain = f"plain after forged {uuid.uuid4().hex[:8]}"
    publish_by_hand(outsider, *route, email(plain, tenant=tenant), user_id=user_of(outsider))
    assert len(smtp_sink.mailbox.wait_for(plain, timeout=60)) == 1
    assert smtp_sink.mailbox.with_subject(forged) == []


def test_a_start_for_another_tenant_is_dead_lettered_and_starts_nothing(
    system: System, outsider: str
) -> None:
    tick = datetime.now(UTC).replace(microsecond=0)
    start: dict[str, Any] = {
        "schedule": f"forged_{uuid.uuid4().hex[:8]}",
        "tick": tick.isoformat(),
        "tenant": "victim",
        "kind": "email",
        "request": email("a scheduled run nobody scheduled"),
    }
    route = ("workflows", "workflow.start.default", START_WORKFLOW)
    task_id = publish_by_hand(outsider, *route, start, user_id=user_of(outsider))

    letter = dead_letter_of(system, INTAKE_DLQ, task_id)
    assert letter.headers[REASON_HEADER].startswith(
        f"unauthorized: broker user {user_of(outsider)!r} is not entitled to act for tenant"
    )
    with psycopg.connect(system.env["DATABASE_URL"]) as conn:
        found = conn.execute(
            "SELECT count(*) FROM api.workflows WHERE id = %s",
            (workflow_id_for(start["schedule"], tick),),
        ).fetchone()
    assert found == (0,)


def test_another_teams_plain_send_task_producer_gets_its_email_sent(
    system: System, other_team: Celery, smtp_sink: SmtpSink, victim_report: tuple[str, str]
) -> None:
    subject = f"other team {uuid.uuid4().hex[:8]}"
    plain = SendEmail(to=["ada@example.com"], subject=subject, text="hi", tenant="billing")
    other_team.send_task(SEND_EMAIL, kwargs=plain.to_wire())
    assert len(smtp_sink.mailbox.wait_for(subject, timeout=60)) == 1

    # Its messages name no user (plain Celery sets no user_id): no stored report for it.
    tenant, report_id = victim_report
    attaching = SendEmail.model_validate(
        {
            **plain.to_wire(),
            "subject": f"{subject} attaching",
            "tenant": tenant,
            "attachments": [{"report_id": report_id}],
        }
    )
    sent = other_team.send_task(SEND_EMAIL, kwargs=attaching.to_wire())
    letter = dead_letter_of(system, EMAIL_DLQ, str(sent.id))
    assert letter.headers[REASON_HEADER] == (
        f"unauthorized: no broker user (no user_id) is not entitled to act for tenant {tenant!r}"
    )
    assert smtp_sink.mailbox.with_subject(f"{subject} attaching") == []
