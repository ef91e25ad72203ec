"""What each service declares at start: derived from the topology, as `api migrate` declares it."""

from __future__ import annotations

from typing import Any, cast

import pytest
from celery import Celery
from kombu import Connection, Exchange, Queue, binding
from structlog.testing import capture_logs

from contracts import email, reports, webhooks, workflows
from contracts.routing import DEAD_LETTER_QUEUES, ROUTED_EXCHANGES, SCAFFOLDED, TASK_QUEUES
from contracts.topology import (
    UNROUTABLE_EXCHANGE,
    UNROUTABLE_QUEUE,
    dead_letter_exchange,
    domain_exchange,
    work_queue,
)
from switchyard_runtime.dead_letters import QueueWatch
from switchyard_runtime.declaration import (
    ACCESS_REFUSED,
    CELERY_DELAYED_DELIVERY,
    DeclareTopology,
    declare_needs_on,
    needs_of,
)
from switchyard_runtime.poison import Consumer

#: What each service consumes; the API and the scheduler consume nothing.
SERVICES: dict[str, tuple[Queue, ...]] = {
    "email-worker": email.QUEUES,
    "report-worker": reports.QUEUES,
    "api intake": (*workflows.QUEUES, *webhooks.QUEUES),
    "api, scheduler": (),
}


def names(items: Any) -> list[str]:
    return [item.name for item in items]


class BrokerError(Exception):
    """A channel error as py-amqp raises it: with the broker's reply code."""

    def __init__(self, reply_code: int, text: str) -> None:
        super().__init__(text)
        self.reply_code = reply_code


class RecordingChannel:
    """Just enough of an AMQP channel for kombu's declarations: it records every call."""

    def __init__(self, calls: list[tuple[str, dict[str, Any]]], refuse: str | None) -> None:
        self.calls = calls
        self.refuse = refuse

    def _record(self, method: str, kwargs: dict[str, Any]) -> None:
        if self.refuse is not None and self.refuse in (method, kwargs.get("queue")):
            raise BrokerError(ACCESS_REFUSED, f"ACCESS_REFUSED: {method} {kwargs}")
        self.calls.append((method, kwargs))

    def prepare_queue_arguments(self, arguments: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return dict(arguments)

    def exchange_declare(self, **kwargs: Any) -> None:
        self._record("exchange_declare", kwargs)

    def exchange_bind(self, **kwargs: Any) -> None:
        self._record("exchange_bind", kwargs)

    def queue_declare(self, **kwargs: Any) -> tuple[str, int, int]:
        self._record("queue_declare", kwargs)
        return (kwargs["queue"], 0, 0)

    def queue_bind(self, **kwargs: Any) -> None:
        self._record("queue_bind", kwargs)


class RecordingConnection:
    """Hands out recording channels; ``refuse`` names a method or queue the broker refuses."""

    channel_errors = (BrokerError,)
    connection_errors = (OSError,)

    def __init__(self, refuse: str | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.refuse = refuse

    def channel(self) -> RecordingChannel:
        return RecordingChannel(self.calls, self.refuse)

    def of(self, method: str) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self.calls if name == method]


def declared(consumes: tuple[Queue, ...], refuse: str | None = None) -> RecordingConnection:
    connection = RecordingConnection(refuse)
    declare_needs_on(cast(Connection, connection), needs_of(consumes))
    return connection


def test_a_worker_relies_on_its_queues_their_dead_letters_the_catch_all_and_the_exchanges() -> None:
    needs = needs_of(email.QUEUES)

    scaffolded = [contract.exchange.name for contract in SCAFFOLDED]
    assert names(needs.exchanges) == [
        "unroutable",
        "email",
        "reports",
        "workflows",
        "webhooks",
        *scaffolded,
    ]
    assert names(needs.queues) == [
        "unroutable",
        "email.transactional",
        "email.bulk",
        "email.transactional.dlq",
        "email.bulk.dlq",
    ]
    dlq = needs.queues[3]
    assert (dlq.exchange.name, dlq.exchange.type, dlq.routing_key) == (
        "email.dlx",
        "direct",
        "email.transactional",
    )
    assert names(needs.delayed) == ["email.transactional", "email.bulk"]


def test_a_producer_relies_on_the_routed_exchanges_and_the_catch_all_queue() -> None:
    needs = needs_of()

    assert names(needs.exchanges) == names(ROUTED_EXCHANGES)
    assert needs.queues == (UNROUTABLE_QUEUE,)
    assert needs.delayed == ()


@pytest.mark.parametrize("service", list(SERVICES))
def test_every_declaration_of_a_service_is_one_api_migrate_makes_with_the_same_arguments(
    service: str,
) -> None:
    migrate = declared(TASK_QUEUES).calls

    calls = declared(SERVICES[service]).calls

    assert calls
    missing = [call for call in calls if call not in migrate]
    assert missing == []


def test_api_migrate_declares_every_dead_letter_queue_as_its_contract_defines_it() -> None:
    by_name = {queue.name: queue for queue in needs_of(TASK_QUEUES).queues}

    for dlq in DEAD_LETTER_QUEUES:
        ours = by_name[dlq.name]
        assert (ours.exchange.name, ours.exchange.type, ours.exchange.durable) == (
            dlq.exchange.name,
            dlq.exchange.type,
            dlq.exchange.durable,
        )
        assert (ours.routing_key, ours.queue_arguments) == (dlq.routing_key, dlq.queue_arguments)


def test_a_queue_added_to_the_topology_is_covered_from_its_own_definition() -> None:
    billing = domain_exchange("billing")
    invoices = work_queue("billing.invoices", billing, "billing.#", dead_letter_exchange("billing"))
    # A queue bound to several exchanges (a tap on the catch-all and a dead-letter exchange).
    tap = Queue(
        "tap",
        bindings=[binding(UNROUTABLE_EXCHANGE), binding(dead_letter_exchange("billing"), "x")],
        durable=True,
    )

    needs = needs_of([invoices, tap], publishes=[])

    assert set(names(needs.exchanges)) == {"billing", "unroutable", "billing.dlx"}  # kombu: a set
    assert names(needs.queues) == ["unroutable", "billing.invoices", "tap", "billing.invoices.dlq"]
    assert names(needs.delayed) == ["billing.invoices"]


def test_an_exchange_naming_an_unknown_alternate_exchange_is_refused() -> None:
    odd = Exchange("odd", type="topic", arguments={"alternate-exchange": "elsewhere"})

    with pytest.raises(ValueError, match="'odd' names an unknown alternate exchange 'elsewhere'"):
        needs_of(publishes=[odd])


def test_a_worker_declares_its_queues_dead_letters_catch_all_and_delayed_delivery() -> None:
    connection = declared(email.QUEUES)

    queues = {call["queue"]: call for call in connection.of("queue_declare")}
    assert queues["email.transactional"]["arguments"] == email.TRANSACTIONAL_QUEUE.queue_arguments
    assert {"unroutable", "email.bulk.dlq", "celery_delayed_0", "celery_delayed_27"} <= set(queues)
    bindings = {(c["queue"], c["exchange"], c["routing_key"]) for c in connection.of("queue_bind")}
    assert ("email.bulk.dlq", "email.dlx", "email.bulk") in bindings
    assert ("email.bulk", "email", "#.email.#.bulk") in bindings  # delayed delivery's key
    exchanges = {call["exchange"]: call for call in connection.of("exchange_declare")}
    assert exchanges["email"]["arguments"] == {"alternate-exchange": "unroutable"}
    sources = {(c["destination"], c["source"]) for c in connection.of("exchange_bind")}
    assert ("email", "celery_delayed_delivery") in sources


def test_declaring_twice_makes_the_same_calls_and_leaves_the_shared_objects_unbound() -> None:
    first, second = declared(email.QUEUES), declared(email.QUEUES)

    assert first.calls == second.calls
    assert not any(queue.is_bound for queue in (*TASK_QUEUES, UNROUTABLE_QUEUE))
    assert not email.EXCHANGE.is_bound


def test_a_refused_declaration_is_logged_and_the_others_are_still_made() -> None:
    connection = RecordingConnection(refuse="unroutable")

    with capture_logs() as logs:
        refused = declare_needs_on(cast(Connection, connection), needs_of(email.QUEUES))

    assert refused == ["declare queue 'unroutable' with its bindings"]
    declared_queues = {call["queue"] for call in connection.of("queue_declare")}
    assert "unroutable" not in declared_queues
    assert {"email.transactional", "email.bulk.dlq", "celery_delayed_1"} <= declared_queues
    warnings = [entry for entry in logs if entry["log_level"] == "warning"]
    assert [entry["what"] for entry in warnings] == refused


def test_any_other_broker_error_is_raised() -> None:
    class Conflicting(RecordingConnection):
        def channel(self) -> RecordingChannel:
            channel = super().channel()

            def conflict(**kwargs: Any) -> None:
                raise BrokerError(406, "PRECONDITION_FAILED - inequivalent arg")

            channel.queue_declare = conflict  # type: ignore[method-assign, assignment]
            return channel

    with pytest.raises(BrokerError, match="PRECONDITION_FAILED"):
        declare_needs_on(cast(Connection, Conflicting()), needs_of(email.QUEUES))


def test_the_worker_declares_before_it_consumes_in_place_of_celerys_delayed_delivery(
    app: Celery,
) -> None:
    blueprint: Any = Consumer.Blueprint(steps=app.steps["consumer"])

    # The boot order as Blueprint.apply() computes it, without starting anything.
    blueprint.steps = blueprint.claim_steps()
    order = [step.name for step in blueprint._finalize_steps(blueprint.steps)]

    assert CELERY_DELAYED_DELIVERY.replace(":", ".") not in order
    assert DeclareTopology.name in order
    position = order.index
    assert position("celery.worker.consumer.tasks.Tasks") < position(DeclareTopology.name)
    assert position(DeclareTopology.name) < position(QueueWatch.name)
    # The event loop, which starts consuming, comes last.
    assert order[-1] == "celery.worker.consumer.consumer.Evloop"
