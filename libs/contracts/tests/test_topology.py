"""Topology building blocks: exchanges, quorum work queues, dead-letter queues, declare()."""

from __future__ import annotations

from typing import Any, cast

from kombu import Connection, Exchange, Queue

from contracts.topology import (
    DELIVERY_LIMIT,
    UNROUTABLE_EXCHANGE,
    UNROUTABLE_QUEUE,
    dead_letter_exchange,
    dead_letter_queue,
    declare,
    domain_exchange,
    lost_message_tap,
    work_queue,
)


def test_domain_exchange_is_a_durable_topic_with_the_unroutable_alternate() -> None:
    exchange = domain_exchange("billing")

    assert exchange.name == "billing"
    assert exchange.type == "topic"
    assert exchange.durable is True
    assert exchange.arguments == {"alternate-exchange": "unroutable"}


def test_unroutable_catch_all() -> None:
    assert UNROUTABLE_EXCHANGE.name == "unroutable"
    # Fanout: whatever routing key a message or the binding carries, it lands here.
    assert UNROUTABLE_EXCHANGE.type == "fanout"
    assert UNROUTABLE_EXCHANGE.durable is True
    assert UNROUTABLE_QUEUE.name == "unroutable"
    assert UNROUTABLE_QUEUE.exchange is UNROUTABLE_EXCHANGE
    assert UNROUTABLE_QUEUE.durable is True
    assert UNROUTABLE_QUEUE.queue_arguments == {"x-queue-type": "quorum"}


def test_dead_letter_exchange() -> None:
    dlx = dead_letter_exchange("billing")
    assert (dlx.name, dlx.type, dlx.durable) == ("billing.dlx", "direct", True)


def test_work_queue_is_a_bounded_quorum_queue_dead_lettering_to_its_dlq() -> None:
    exchange = domain_exchange("billing")
    dlx = dead_letter_exchange("billing")

    queue = work_queue("billing.invoices", exchange, "billing.#", dlx)

    assert queue.name == "billing.invoices"
    assert queue.exchange is exchange
    assert queue.routing_key == "billing.#"
    assert queue.durable is True
    assert queue.queue_arguments == {
        "x-queue-type": "quorum",
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": "billing.dlx",
        "x-dead-letter-routing-key": "billing.invoices",
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def test_delivery_limit_is_a_small_positive_bound() -> None:
    assert isinstance(DELIVERY_LIMIT, int)
    assert 1 <= DELIVERY_LIMIT <= 20


def test_dead_letter_queue_is_bound_by_the_work_queue_name() -> None:
    exchange = domain_exchange("billing")
    dlx = dead_letter_exchange("billing")
    work = work_queue("billing.invoices", exchange, "billing.#", dlx)

    dlq = dead_letter_queue(work, dlx)

    assert dlq.name == "billing.invoices.dlq"
    assert work.queue_arguments is not None
    assert dlq.exchange is dlx
    # The work queue dead-letters with its own name as the routing key.
    assert dlq.routing_key == work.queue_arguments["x-dead-letter-routing-key"]
    assert dlq.durable is True
    assert dlq.queue_arguments == {"x-queue-type": "quorum"}


class RecordingChannel:
    """Just enough of an AMQP channel for kombu's declare(): it records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def prepare_queue_arguments(self, arguments: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        assert all(value is None for value in kwargs.values())
        return dict(arguments)

    def exchange_declare(self, **kwargs: Any) -> None:
        self.calls.append(("exchange_declare", kwargs))

    def queue_declare(self, **kwargs: Any) -> tuple[str, int, int]:
        self.calls.append(("queue_declare", kwargs))
        return (kwargs["queue"], 0, 0)

    def queue_bind(self, **kwargs: Any) -> None:
        self.calls.append(("queue_bind", kwargs))

    def of(self, method: str) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self.calls if name == method]


class FakeConnection:
    def __init__(self) -> None:
        self.default_channel = RecordingChannel()


def test_declare_declares_exchange_queue_and_binding_of_each_queue() -> None:
    exchange = domain_exchange("billing")
    dlx = dead_letter_exchange("billing")
    work = work_queue("billing.invoices", exchange, "billing.#", dlx)
    dlq = dead_letter_queue(work, dlx)
    # A copy: Celery fills in the routing key of the shared UNROUTABLE_QUEUE once an app
    # reads its queues (harmless on a fanout exchange, but it would make this test depend
    # on which tests ran before it).
    catch_all = Queue(
        "unroutable",
        exchange=UNROUTABLE_EXCHANGE,
        routing_key="",
        durable=True,
        queue_arguments={"x-queue-type": "quorum"},
    )
    connection = FakeConnection()

    declare(cast(Connection, connection), [catch_all, work, dlq])

    channel = connection.default_channel
    assert [(c["exchange"], c["type"], c["durable"]) for c in channel.of("exchange_declare")] == [
        ("unroutable", "fanout", True),
        ("billing", "topic", True),
        ("billing.dlx", "direct", True),
    ]
    assert channel.of("exchange_declare")[1]["arguments"] == {"alternate-exchange": "unroutable"}
    declared = {c["queue"]: c for c in channel.of("queue_declare")}
    assert list(declared) == ["unroutable", "billing.invoices", "billing.invoices.dlq"]
    assert all(c["durable"] and not c["passive"] for c in declared.values())
    assert declared["billing.invoices"]["arguments"] == work.queue_arguments
    assert [(c["queue"], c["exchange"], c["routing_key"]) for c in channel.of("queue_bind")] == [
        ("unroutable", "unroutable", ""),
        ("billing.invoices", "billing", "billing.#"),
        ("billing.invoices.dlq", "billing.dlx", "billing.invoices"),
    ]


def test_declare_leaves_the_shared_queue_objects_unbound() -> None:
    queue = Queue("q", Exchange("x", type="direct"), "q")

    declare(cast(Connection, FakeConnection()), [queue])
    declare(cast(Connection, FakeConnection()), [queue])

    assert not queue.is_bound
    assert not UNROUTABLE_QUEUE.is_bound


def test_the_lost_message_tap_is_bound_to_unroutable_and_every_dead_letter_exchange() -> None:
    exchange = domain_exchange("billing")
    dlx = dead_letter_exchange("billing")
    invoices = work_queue("billing.invoices", exchange, "billing.invoices.#", dlx)
    refunds = work_queue("billing.refunds", exchange, "billing.refunds.#", dlx)
    connection = FakeConnection()

    tap = lost_message_tap("ops.lost", [UNROUTABLE_QUEUE, invoices, refunds])
    declare(cast(Connection, connection), [tap])

    channel = connection.default_channel
    [declared] = channel.of("queue_declare")
    assert (declared["queue"], declared["durable"]) == ("ops.lost", True)
    assert declared["arguments"] == {"x-queue-type": "quorum"}
    assert {(c["exchange"], c["type"]) for c in channel.of("exchange_declare")} == {
        ("unroutable", "fanout"),
        ("billing.dlx", "direct"),
    }
    # Each binding is what the work queue dead-letters with (and workers refuse with).
    assert {(c["queue"], c["exchange"], c["routing_key"]) for c in channel.of("queue_bind")} == {
        ("ops.lost", "unroutable", ""),
        ("ops.lost", "billing.dlx", "billing.invoices"),
        ("ops.lost", "billing.dlx", "billing.refunds"),
    }
