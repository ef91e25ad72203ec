"""Routing derived from the contracts: CONTRACTS, TASK_QUEUES, DLQs and the Celery router."""

from __future__ import annotations

from typing import Any

import pytest
from celery import Celery
from celery.signals import before_task_publish
from kombu import Queue

from contracts import (
    CONTRACTS,
    DEAD_LETTER_QUEUES,
    GENERATE_REPORT,
    SEND_EMAIL,
    START_WORKFLOW,
    TASK_QUEUES,
    GenerateReport,
    SendEmail,
    contract_for,
    route_task,
)
from contracts.routing import CHORD_UNLOCK, SCAFFOLDED, queues_named
from contracts.topology import DELIVERY_LIMIT, UNROUTABLE_QUEUE
from contracts.webhooks import DELIVER_WEBHOOK
from contracts.workflows import BACKEND_CLEANUP

WORK_QUEUES = {
    "email.transactional",
    "email.bulk",
    "reports.default",
    "api.intake",
    "webhooks.deliver",
    # and those of the workers `just new-worker` made, checked by the same rules
    *(queue.name for contract in SCAFFOLDED for queue in contract.queues),
}


def topic_matches(pattern: str, key: str) -> bool:
    """RabbitMQ topic matching: ``*`` is exactly one word, ``#`` zero or more words."""

    def match(p: list[str], k: list[str]) -> bool:
        if not p:
            return not k
        if p[0] == "#":
            return any(match(p[1:], k[i:]) for i in range(len(k) + 1))
        if not k:
            return False
        return (p[0] == "*" or p[0] == k[0]) and match(p[1:], k[1:])

    return match(pattern.split("."), key.split("."))


@pytest.mark.parametrize(
    ("pattern", "key", "expected"),
    [
        ("email.#.bulk", "email.send.bulk", True),
        ("email.#.bulk", "email.bulk", True),
        ("email.#.bulk", "email.send.transactional", False),
        ("report.#", "report.generate.default", True),
        ("report.*", "report.generate.default", False),
        ("report.#", "reports.generate", False),
    ],
)
def test_topic_matcher_itself(pattern: str, key: str, expected: bool) -> None:
    assert topic_matches(pattern, key) is expected


def test_contracts_registry() -> None:
    scaffolded = {contract.name for contract in SCAFFOLDED}
    assert set(CONTRACTS) - scaffolded == {
        SEND_EMAIL,
        GENERATE_REPORT,
        START_WORKFLOW,
        DELIVER_WEBHOOK,
    }
    assert set(CONTRACTS) - scaffolded == {
        "email.send",
        "report.generate",
        "workflow.start",
        "webhook.deliver",
    }
    assert CONTRACTS["email.send"].payload is SendEmail
    assert CONTRACTS["report.generate"].payload is GenerateReport
    for name, contract in CONTRACTS.items():
        assert contract.name == name
        assert contract_for(name) is contract


def test_contract_for_unknown_name_raises_key_error() -> None:
    with pytest.raises(KeyError, match=r"email\.sned"):
        contract_for("email.sned")


@pytest.mark.parametrize(
    ("name", "kwargs", "expected"),
    [
        (
            "email.send",
            {"lane": "transactional"},
            ("email.transactional", "email", "email.send.transactional"),
        ),
        ("email.send", {"lane": "bulk"}, ("email.bulk", "email", "email.send.bulk")),
        ("email.send", {}, ("email.transactional", "email", "email.send.transactional")),
        ("email.send", None, ("email.transactional", "email", "email.send.transactional")),
        (
            "report.generate",
            {"kind": "email_activity"},
            ("reports.default", "reports", "report.generate.default"),
        ),
        ("report.generate", None, ("reports.default", "reports", "report.generate.default")),
        ("workflow.start", {}, ("api.intake", "workflows", "workflow.start.default")),
        ("webhook.deliver", {}, ("webhooks.deliver", "webhooks", "webhook.deliver.default")),
    ],
)
def test_route_task_for_contract_names(
    name: str, kwargs: dict[str, Any] | None, expected: tuple[str, str, str]
) -> None:
    queue, exchange, key = expected
    assert route_task(name, (), kwargs, {}) == {
        "queue": queue,
        "exchange": exchange,
        "routing_key": key,
        # The producer declares nothing: the queue is its consumer's (switchyard_runtime.grants).
        "declare": [],
    }


def test_route_task_accepts_celerys_extra_keywords() -> None:
    route = route_task("email.send", (), {"lane": "bulk"}, {}, task=None, extra="ignored")
    assert route is not None
    assert route["queue"] == "email.bulk"


def test_route_task_sends_the_result_clean_up_to_a_queue_a_worker_consumes() -> None:
    # Celery beat's default entry would otherwise land in `unroutable`, and expired
    # results would never be deleted.
    assert route_task(BACKEND_CLEANUP, (), {}, {}) == {
        "queue": "api.intake",
        "exchange": "workflows",
        "routing_key": "workflow.results.cleanup",
        "declare": [],
    }
    bound = [
        queue.name
        for queue in TASK_QUEUES
        if queue.exchange.name == "workflows"
        and topic_matches(queue.routing_key, "workflow.results.cleanup")
    ]
    assert bound == ["api.intake"]


@pytest.mark.parametrize("name", ["celery.chord_unlock", "email.sned", "", "report"])
def test_route_task_leaves_unknown_names_to_the_default_queue(name: str) -> None:
    assert route_task(name, (), {"lane": "bulk"}, {}) is None


def digest_callback(lane: str) -> dict[str, Any]:
    """A chord's callback as ``celery.chord_unlock`` carries it (a signature's dict)."""
    return {
        "task": "email.send",
        "args": [],
        "kwargs": {"to": ["a@example.com"], "lane": lane, "tenant": "t"},
        "options": {"queue": f"email.{lane}", "task_id": "cb"},
    }


@pytest.mark.parametrize("lane", ["transactional", "bulk"])
def test_a_chord_unlock_goes_where_its_callback_goes(lane: str) -> None:
    # A list, as a retry carries its arguments after a JSON round trip.
    route = route_task(CHORD_UNLOCK, ["group-id", digest_callback(lane)], {"result": []}, {})
    assert route == route_task("email.send", (), {"lane": lane}, {})


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("group-id",),
        ("group-id", "not a signature"),
        ("group-id", {"task": "report.lost", "kwargs": {}}),
        ("group-id", {"task": CHORD_UNLOCK, "args": ["group-id", digest_callback("bulk")]}),
    ],
)
def test_a_chord_unlock_without_a_routable_callback_goes_to_the_default_queue(
    args: tuple[Any, ...],
) -> None:
    assert route_task(CHORD_UNLOCK, args, {}, {}) is None


def test_a_retried_chord_unlock_is_routed_to_its_callbacks_queue_not_the_default(
    app: Celery,
) -> None:
    """A retry's options are its delivery's exchange and routing key, without a queue:
    Celery's router must still name the callback's queue, whose binding the countdown's
    delayed-delivery routing key is built from."""
    app.conf.update(
        task_queues=TASK_QUEUES,
        task_default_queue=UNROUTABLE_QUEUE.name,
        task_create_missing_queues=False,
    )
    delivered = {
        "exchange": "celery_delayed_delivery",
        "routing_key": "0." * 27 + "1.email.#.bulk",
        "exchange_type": "topic",
    }
    route = app.amqp.router.route(
        dict(delivered), CHORD_UNLOCK, ("group-id", digest_callback("bulk")), {}
    )
    assert route["queue"].name == "email.bulk"


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("email.send", {"lane": "transactional"}),
        ("email.send", {"lane": "bulk"}),
        ("report.generate", {}),
        ("workflow.start", {}),
    ],
)
def test_each_routing_key_reaches_exactly_its_queue(name: str, kwargs: dict[str, Any]) -> None:
    route = contract_for(name).route(kwargs)
    bound = [
        queue.name
        for queue in TASK_QUEUES
        if queue.exchange.name == route["exchange"]
        and topic_matches(queue.routing_key, route["routing_key"])
    ]
    assert bound == [route["queue"]]


def test_task_queues_hold_every_contract_queue_after_the_catch_all() -> None:
    names = [queue.name for queue in TASK_QUEUES]

    assert names[0] == UNROUTABLE_QUEUE.name == "unroutable"
    assert set(names) == WORK_QUEUES | {"unroutable"}
    assert len(names) == len(set(names))
    contract_queues = {q.name for c in CONTRACTS.values() for q in c.queues}
    assert contract_queues == WORK_QUEUES


def test_every_task_queue_is_a_durable_quorum_queue() -> None:
    for queue in TASK_QUEUES:
        assert queue.durable is True, queue.name
        assert queue.queue_arguments is not None
        assert queue.queue_arguments["x-queue-type"] == "quorum", queue.name


@pytest.mark.parametrize("name", sorted(WORK_QUEUES))
def test_work_queues_limit_deliveries_and_dead_letter(name: str) -> None:
    (queue,) = queues_named([name])
    domain = queue.exchange.name
    assert queue.queue_arguments == {
        "x-queue-type": "quorum",
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": f"{domain}.dlx",
        "x-dead-letter-routing-key": name,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def test_domain_exchanges_name_the_unroutable_alternate_exchange() -> None:
    exchanges = {queue.exchange.name: queue.exchange for queue in TASK_QUEUES}
    domains = {"email", "reports", "workflows", "webhooks"} | {c.exchange.name for c in SCAFFOLDED}
    assert set(exchanges) == {"unroutable", *domains}
    for name in domains:
        assert exchanges[name].type == "topic"
        assert exchanges[name].durable is True
        assert exchanges[name].arguments == {"alternate-exchange": UNROUTABLE_QUEUE.exchange.name}
    for contract in CONTRACTS.values():
        assert contract.exchange.arguments == {"alternate-exchange": "unroutable"}


def test_one_dead_letter_queue_per_work_queue() -> None:
    by_name = {queue.name: queue for queue in TASK_QUEUES}
    dlqs = {queue.name: queue for queue in DEAD_LETTER_QUEUES}

    assert set(dlqs) == {f"{name}.dlq" for name in WORK_QUEUES}
    for name in WORK_QUEUES:
        work, dlq = by_name[name], dlqs[f"{name}.dlq"]
        assert work.queue_arguments is not None
        assert dlq.exchange.name == work.queue_arguments["x-dead-letter-exchange"]
        assert dlq.routing_key == work.queue_arguments["x-dead-letter-routing-key"] == name
        assert dlq.exchange.type == "direct"
        assert dlq.durable is True
        assert dlq.queue_arguments == {"x-queue-type": "quorum"}


def test_dead_letter_queues_are_not_consumed_as_task_queues() -> None:
    assert not {q.name for q in DEAD_LETTER_QUEUES} & {q.name for q in TASK_QUEUES}


def test_queues_named_keeps_order_and_identity() -> None:
    queues = queues_named(["email.bulk", "unroutable"])
    assert [q.name for q in queues] == ["email.bulk", "unroutable"]
    assert all(isinstance(q, Queue) for q in queues)
    assert queues[1] is UNROUTABLE_QUEUE


def test_queues_named_rejects_an_unknown_name() -> None:
    with pytest.raises(KeyError, match=r"email\.dlq"):
        queues_named(["email.bulk", "email.dlq"])
    with pytest.raises(KeyError):
        queues_named(["email.bulk.dlq"])


def test_a_routed_publish_declares_nothing(app: Celery) -> None:
    # Celery declares the queue on a producer's first publish unless the route says not
    # to; a producer's broker user may not declare another service's queue.
    app.conf.update(broker_url="memory://")
    seen: list[Any] = []

    def record(declare: Any = None, **_: Any) -> None:
        seen.append(declare)

    before_task_publish.connect(record, weak=False)
    try:
        app.send_task("email.send", kwargs={"lane": "bulk"})
    finally:
        before_task_publish.disconnect(record)
    assert seen == [[]]
