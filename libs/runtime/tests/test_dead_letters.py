"""The dead-letter copy's headers, the fallback to a plain reject, the watched queues."""

from __future__ import annotations

from typing import Any

from celery import Celery

from contracts import DEAD_LETTER_QUEUES, TASK_QUEUES
from contracts.email import QUEUES as EMAIL_QUEUES
from contracts.email import TRANSACTIONAL_QUEUE
from contracts.topology import UNROUTABLE_QUEUE, dead_letter_queue_of
from switchyard_runtime.dead_letters import (
    EXCHANGE_HEADER,
    QUEUE_HEADER,
    REASON_HEADER,
    ROUTING_KEY_HEADER,
    copy_headers,
    dead_letter,
    watched_queues,
)


class Delivered:
    """A received message as the consumer sees it, recording what is done with it."""

    def __init__(self, headers: dict[str, Any] | None = None) -> None:
        self.headers = headers or {}
        self.delivery_info = {"exchange": "email", "routing_key": "email.send.transactional"}
        self.properties: dict[str, Any] = {"correlation_id": "t-1"}
        self.body = b"[[], {}, {}]"
        self.content_type = "application/json"
        self.content_encoding = "utf-8"
        self.outcome: list[tuple[str, bool]] = []

    def reject(self, requeue: bool = False) -> None:
        self.outcome.append(("reject", requeue))

    def ack(self) -> None:
        self.outcome.append(("ack", False))


def test_the_copy_keeps_the_headers_adds_the_reason_and_drops_the_delivery_count() -> None:
    delivered = Delivered({"id": "t-1", "task": "email.send", "x-delivery-count": 4})
    headers = copy_headers(delivered, TRANSACTIONAL_QUEUE, "UnknownTask: nope")
    assert headers == {
        "id": "t-1",
        "task": "email.send",
        REASON_HEADER: "UnknownTask: nope",
        QUEUE_HEADER: "email.transactional",
        EXCHANGE_HEADER: "email",
        ROUTING_KEY_HEADER: "email.send.transactional",
    }


def test_without_a_dead_letter_exchange_the_message_is_rejected_without_requeue(
    app: Celery,
) -> None:
    for queue in (None, UNROUTABLE_QUEUE):
        delivered = Delivered()
        assert dead_letter(app, delivered, queue, "InvalidMessage: x") is False
        assert delivered.outcome == [("reject", False)]


def test_when_the_copy_cannot_be_published_the_broker_dead_letters_the_message(
    app: Celery,
) -> None:
    # The unit tests' broker address refuses connections: the publish fails.
    app.conf.broker_connection_max_retries = 0
    delivered = Delivered({"id": "t-1"})
    assert dead_letter(app, delivered, TRANSACTIONAL_QUEUE, "InvalidMessage: x") is False
    assert delivered.outcome == [("reject", False)]


def test_every_work_queue_names_its_dead_letter_queue() -> None:
    dead = {queue.name: queue for queue in DEAD_LETTER_QUEUES}
    for queue in TASK_QUEUES:
        target = dead_letter_queue_of(queue)
        if queue is UNROUTABLE_QUEUE:
            assert target is None
            continue
        assert target is not None
        assert target.name == f"{queue.name}.dlq"
        assert target.exchange.name == dead[target.name].exchange.name
        assert target.routing_key == dead[target.name].routing_key
        assert target.queue_arguments == dead[target.name].queue_arguments


def test_a_worker_watches_unroutable_and_the_dead_letter_queues_of_what_it_consumes() -> None:
    assert watched_queues(EMAIL_QUEUES) == [
        "unroutable",
        "email.transactional.dlq",
        "email.bulk.dlq",
    ]
    assert watched_queues([UNROUTABLE_QUEUE]) == ["unroutable"]
