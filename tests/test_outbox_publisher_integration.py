"""The relay's publisher on a real RabbitMQ: the broker's word on each message of a batch.

A message the broker refuses (a ``basic.nack`` from a queue at its ``max-length`` with
``reject-publish``; a channel error from an exchange that does not exist) is refused
alone, with the broker's reason; the others of its batch are confirmed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery
from kombu import Connection, Exchange, Queue

from api.workflows.publisher import NACKED, BatchPublisher, Outcome

pytestmark = pytest.mark.integration

EXCHANGE = Exchange("outbox-tests", type="direct", durable=False, auto_delete=True)
OPEN = Queue("outbox-tests.open", EXCHANGE, routing_key="open", auto_delete=True)
#: Classic queues nack every publish past ``max-length`` (0: all of them).
FULL = Queue(
    "outbox-tests.full",
    EXCHANGE,
    routing_key="full",
    auto_delete=True,
    queue_arguments={"x-max-length": 0, "x-overflow": "reject-publish"},
)
#: Bound to an exchange nobody declared: publishing to it closes the channel.
NOWHERE = Queue(
    "outbox-tests.nowhere",
    Exchange("outbox-tests.missing", type="direct"),
    routing_key="nowhere",
    no_declare=True,
)


@pytest.fixture
def app(migrated: dict[str, str]) -> Iterator[Celery]:
    celery_app = Celery("publisher-tests", broker=migrated["AMQP_URL"], set_as_current=False)
    celery_app.conf.update(task_queues=[OPEN, FULL, NOWHERE], task_create_missing_queues=False)
    with Connection(migrated["AMQP_URL"]) as connection:
        channel: Any = connection.default_channel
        for queue in (OPEN, FULL):
            queue.bind(channel).declare()
            queue.bind(channel).purge()
    yield celery_app
    celery_app.close()


def message(app: Celery, queue: Queue) -> dict[str, Any]:
    """A task message (a canvas as the outbox stores it) bound for ``queue``, routed by
    exchange and routing key as the contracts route every task."""
    options = {
        "queue": queue.name,
        "exchange": queue.exchange.name,
        "routing_key": queue.routing_key,
        "task_id": str(uuid.uuid4()),
    }
    return dict(app.signature("tests.noop", options=options))


def task_ids_in(url: str, queue: Queue) -> set[str]:
    found = set()
    with Connection(url) as connection:
        bound = queue.bind(connection.default_channel)
        while (got := bound.get(no_ack=True)) is not None:
            found.add(got.headers["id"])
    return found


def test_a_nacked_message_is_refused_and_the_rest_of_its_batch_confirmed(
    app: Celery, migrated: dict[str, str]
) -> None:
    batch = [message(app, OPEN), message(app, FULL), message(app, OPEN)]
    publisher = BatchPublisher(app, confirm_timeout=10)
    try:
        published = publisher.publish(batch)
    finally:
        publisher.close()

    assert published.stalled is None
    assert [r.outcome for r in published.results] == [
        Outcome.CONFIRMED,
        Outcome.REFUSED,
        Outcome.CONFIRMED,
    ]
    assert published.results[1].reason == NACKED
    delivered = task_ids_in(migrated["AMQP_URL"], OPEN)
    assert delivered == {batch[0]["options"]["task_id"], batch[2]["options"]["task_id"]}


def test_the_message_that_closes_the_channel_is_found_and_refused_alone(
    app: Celery, migrated: dict[str, str]
) -> None:
    batch = [message(app, OPEN), message(app, NOWHERE), message(app, OPEN), message(app, OPEN)]
    publisher = BatchPublisher(app, confirm_timeout=10)
    try:
        published = publisher.publish(batch)
        # The publisher goes on afterwards, on a channel of its own.
        after = publisher.publish([message(app, OPEN)])
    finally:
        publisher.close()

    assert published.stalled is None
    outcomes = [r.outcome for r in published.results]
    assert outcomes == [Outcome.CONFIRMED, Outcome.REFUSED, Outcome.CONFIRMED, Outcome.CONFIRMED]
    reason = published.results[1].reason
    assert reason is not None
    assert reason.startswith("NOT_FOUND - no exchange 'outbox-tests.missing'"), reason
    assert [r.outcome for r in after.results] == [Outcome.CONFIRMED]
    delivered = task_ids_in(migrated["AMQP_URL"], OPEN)
    wanted = {m["options"]["task_id"] for m in (batch[0], batch[2], batch[3])}
    assert wanted <= delivered


def test_an_unreachable_broker_settles_nothing_and_says_so(migrated: dict[str, str]) -> None:
    from tests.support.smtp_sink import free_port

    app = Celery(
        "publisher-tests",
        broker=f"amqp://guest:guest@127.0.0.1:{free_port()}//",
        set_as_current=False,
    )
    app.conf.update(task_queues=[OPEN], broker_connection_timeout=2)
    publisher = BatchPublisher(app, confirm_timeout=2)
    try:
        published = publisher.publish([message(app, OPEN), message(app, OPEN)])
    finally:
        publisher.close()
        app.close()
    assert [r.outcome for r in published.results] == [Outcome.UNSETTLED, Outcome.UNSETTLED]
    assert published.stalled is not None
    assert published.stalled.startswith("cannot reach the broker")
