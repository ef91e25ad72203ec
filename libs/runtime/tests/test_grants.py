"""Each service's broker grants, derived from the topology and what the service does."""

from __future__ import annotations

import json
import re
from typing import Any, cast

import pytest
from kombu import Connection
from structlog.testing import capture_logs

from contracts import email, reports, webhooks, workflows
from contracts.routing import CONTRACTS, DEAD_LETTER_QUEUES, LOST_MESSAGES_QUEUE, TASK_QUEUES
from contracts.topology import UNROUTABLE_QUEUE, dead_letter_exchange, domain_exchange, work_queue
from switchyard_runtime.declaration import declare_needs_on, needs_of
from switchyard_runtime.grants import (
    definitions,
    grant_of,
    grants,
    main,
    password_variable,
    render_definitions,
)
from switchyard_runtime.services import SERVICES, Service

WORK_QUEUES = [queue.name for queue in TASK_QUEUES if queue is not UNROUTABLE_QUEUE]


def permission(user: str) -> dict[str, str]:
    found: list[dict[str, str]] = [p for p in definitions()["permissions"] if p["user"] == user]
    [entry] = found
    return entry


def allows(user: str, right: str, name: str) -> bool:
    return re.fullmatch(permission(user)[right], name) is not None


def test_every_work_queue_is_consumed_by_exactly_one_service() -> None:
    consumers = {
        name: [s.name for s in SERVICES.values() if name in [q.name for q in s.consumes]]
        for name in WORK_QUEUES
    }
    assert all(len(found) == 1 for found in consumers.values()), consumers


def test_every_contract_is_published_by_some_service() -> None:
    published = {e.name for service in SERVICES.values() for e in service.publishes}
    assert {contract.exchange.name for contract in CONTRACTS.values()} <= published


@pytest.mark.parametrize("queue", WORK_QUEUES)
def test_only_a_queues_consumer_may_read_declare_or_bind_it(queue: str) -> None:
    for service in SERVICES.values():
        own = queue in [q.name for q in service.consumes]
        for right in ("configure", "write", "read"):
            assert allows(service.name, right, queue) is own, (service.name, right)


@pytest.mark.parametrize("dlq", [queue.name for queue in DEAD_LETTER_QUEUES])
def test_no_service_may_consume_a_dead_letter_queue(dlq: str) -> None:
    for service in SERVICES:
        assert not allows(service, "read", dlq), service


def test_the_scheduler_writes_workflows_and_nothing_else() -> None:
    assert permission("scheduler") == {
        "user": "scheduler",
        "vhost": "switchyard",
        "configure": "^$",
        "write": "^(?:workflows)$",
        "read": "^$",
    }


def test_the_api_writes_the_domain_exchanges_and_reads_no_queue() -> None:
    for exchange in ("email", "reports", "webhooks"):
        assert allows("api", "write", exchange)
    assert not allows("api", "write", "workflows")
    for queue in [*WORK_QUEUES, LOST_MESSAGES_QUEUE.name]:
        assert not allows("api", "read", queue), queue
        assert not allows("api", "configure", queue), queue
    # It declares the catch-all behind its exchanges' alternate exchange, but cannot read it.
    assert allows("api", "configure", "unroutable")
    assert not allows("api", "read", "unroutable")
    # Revokes are broadcasts; it hosts no remote-control node and reads no replies.
    assert allows("api", "write", "celery.pidbox")
    assert not allows("api", "read", "celery.pidbox")


def test_remote_control_is_for_workers_and_the_apis_broadcasts_only() -> None:
    node = "report-worker@host-1.example.celery.pidbox"
    assert allows("report-worker", "read", node)
    assert not allows("email-worker", "read", node)
    assert not allows("api-intake", "configure", node)
    assert not allows("scheduler", "write", "celery.pidbox")
    assert not allows("scheduler", "write", "celeryev")
    reply = "2f1c9a3e-8d4b-3c2a-9f0e-1a2b3c4d5e6f.reply.celery.pidbox"
    assert allows("email-worker", "read", reply)
    assert not allows("api", "read", reply)


def test_names_are_anchored_and_escaped() -> None:
    assert allows("email-worker", "read", "email.bulk")
    for near in ("email.bulk.dlq", "emailxbulk", "email.bulk2", "xemail.bulk"):
        assert not allows("email-worker", "read", near), near
    assert not allows("report-worker", "read", "report-worker@h.celery.pidboxes")


def test_the_unroutable_queue_is_readable_by_the_admin_alone() -> None:
    for service in SERVICES:
        assert not allows(service, "read", "unroutable"), service


def test_a_queue_added_to_the_topology_is_granted_to_its_consumer_alone() -> None:
    billing = domain_exchange("billing")
    invoices = work_queue("billing.invoices", billing, "billing.#", dead_letter_exchange("billing"))
    worker = Service(
        "billing-worker", consumes=(invoices,), publishes=(billing,), worker=True, delays=True
    )

    grant = grant_of(worker).permission("switchyard")

    for right in ("configure", "write", "read"):
        assert re.fullmatch(grant[right], "billing.invoices"), right
        for other in grants():
            assert not re.fullmatch(other.permission("v")[right], "billing.invoices")
    assert re.fullmatch(grant["configure"], "billing.invoices.dlq")
    assert re.fullmatch(grant["write"], "billing.dlx")


def test_each_service_declares_its_own_exchanges_and_checks_the_others() -> None:
    assert [e.name for e in SERVICES["report-worker"].declares] == ["reports"]
    assert [e.name for e in SERVICES["report-worker"].expects] == ["email"]
    assert SERVICES["scheduler"].declares == ()
    assert [e.name for e in SERVICES["scheduler"].expects] == ["workflows"]
    assert [e.name for e in SERVICES["api"].declares] == ["email", "reports", "webhooks"]
    intake = SERVICES["api-intake"]
    assert {q.name for q in intake.consumes} == {workflows.QUEUE.name, webhooks.QUEUE.name}
    assert intake.expects == ()
    assert [q.name for q in SERVICES["email-worker"].consumes] == [q.name for q in email.QUEUES]
    assert [q.name for q in SERVICES["report-worker"].consumes] == [q.name for q in reports.QUEUES]


class MissingExchange(Exception):
    reply_code = 404


class Checking:
    """A connection whose channel records passive declares and finds no exchange."""

    channel_errors = (MissingExchange,)

    def __init__(self) -> None:
        self.passive: list[str] = []

    def channel(self) -> Any:
        outer = self

        class Channel:
            def exchange_declare(self, exchange: str, passive: bool = False, **_: Any) -> None:
                assert passive
                outer.passive.append(exchange)
                raise MissingExchange(f"NOT_FOUND - no exchange '{exchange}'")

        return Channel()


def test_an_exchange_a_service_only_expects_is_checked_and_a_missing_one_logged() -> None:
    scheduler = SERVICES["scheduler"]
    connection = Checking()

    with capture_logs() as logs:
        refused = declare_needs_on(
            cast(Connection, connection),
            needs_of(scheduler.consumes, scheduler.declares, scheduler.expects),
        )

    assert refused == []
    assert connection.passive == ["workflows"]
    assert [log["exchange"] for log in logs if "not declared yet" in log["event"]] == ["workflows"]


def test_the_definitions_hold_the_admin_and_one_user_per_service_with_a_compose_password() -> None:
    data = json.loads(render_definitions("switchyard"))
    assert data == definitions("switchyard")
    assert [u["name"] for u in data["users"]] == ["admin", *SERVICES]
    assert data["users"][2]["password"] == "${RABBITMQ_API_INTAKE_PASSWORD}"
    assert password_variable("email-worker") == "RABBITMQ_EMAIL_WORKER_PASSWORD"
    for entry in data["permissions"]:
        for right in ("configure", "write", "read"):
            re.compile(entry[right])


def test_the_command_prints_the_definitions_or_the_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["--vhost", "elsewhere"])
    assert json.loads(capsys.readouterr().out)["vhosts"] == [{"name": "elsewhere"}]
    main(["--table"])
    table = capsys.readouterr().out
    assert "| `scheduler` | nothing | `workflows` | nothing |" in table
