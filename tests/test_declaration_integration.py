"""What a service declares at start, on a real RabbitMQ vhost where nothing was declared.

Declaring twice is harmless, and `api migrate`'s declaration of the whole topology agrees
with each service's own (the broker refuses a re-declaration with other arguments, as
the last test shows). What a worker declared gives the broker's own dead-lettering
somewhere to go, and what a producer declared catches a message no binding matches.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery
from kombu import Connection, Queue

from contracts import email, reports, workflows
from switchyard_runtime.celery_app import create_celery_app, declare_topology
from switchyard_runtime.declaration import declare_needs
from switchyard_runtime.settings import PlatformSettings, load_settings
from tests.support.dead_letters import publish_raw, take_message

pytestmark = pytest.mark.integration

WORKER_QUEUES = (email.QUEUES, reports.QUEUES, workflows.QUEUES)


@pytest.fixture
def app(bare_amqp_url: str, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Celery]:
    monkeypatch.setenv("AMQP_URL", bare_amqp_url)
    monkeypatch.setenv("DATABASE_URL", database_url)
    celery_app = create_celery_app("declaration-tests", load_settings(PlatformSettings))
    yield celery_app
    celery_app.close()


def exists(url: str, kind: str, name: str) -> bool:
    """Whether the exchange or queue ``name`` exists (a passive declare)."""
    with Connection(url) as connection:
        channel: Any = connection.channel()
        try:
            if kind == "exchange":
                channel.exchange_declare(exchange=name, type="topic", passive=True)
            else:
                channel.queue_declare(queue=name, passive=True)
        except connection.channel_errors:
            return False
        return True


def marked(marker: str) -> bytes:
    return json.dumps({"marker": marker}).encode()


def test_declaring_twice_then_migrating_then_declaring_again_is_accepted(
    app: Celery, bare_amqp_url: str
) -> None:
    for queues in (*WORKER_QUEUES, ()):
        declare_needs(app, queues)
        declare_needs(app, queues)

    declare_topology(app)  # what `api migrate` does, with the arguments it uses
    for queues in (*WORKER_QUEUES, ()):
        declare_needs(app, queues)

    for name in ("unroutable", "email.dlx", "reports.dlx", "workflows.dlx", "celery_delayed_27"):
        assert exists(bare_amqp_url, "exchange", name), name
    for name in ("unroutable", "email.bulk.dlq", "reports.default.dlq", "api.intake.dlq"):
        assert exists(bare_amqp_url, "queue", name), name


def test_a_message_the_broker_dead_letters_reaches_the_dead_letter_queue(
    app: Celery, bare_amqp_url: str
) -> None:
    declare_needs(app, email.QUEUES)  # the email worker's declaration, nothing else
    marker = uuid.uuid4().hex
    publish_raw(bare_amqp_url, marked(marker), exchange="email", routing_key="email.send.bulk")

    with Connection(bare_amqp_url) as connection:
        channel: Any = connection.channel()
        message = channel.basic_get(queue="email.bulk", no_ack=False)
        assert message is not None
        channel.basic_reject(message.delivery_tag, requeue=False)

    letter = take_message(bare_amqp_url, "email.bulk.dlq", lambda letter: True)
    assert letter is not None, "the rejected message was dead-lettered nowhere"
    assert json.loads(letter.body) == {"marker": marker}


def test_a_producer_alone_catches_a_message_no_binding_matches(
    app: Celery, bare_amqp_url: str
) -> None:
    declare_needs(app)  # the API's or the scheduler's declaration
    marker = uuid.uuid4().hex

    publish_raw(bare_amqp_url, marked(marker), exchange="email", routing_key="email.send.nowhere")

    letter = take_message(bare_amqp_url, "unroutable", lambda letter: True)
    assert letter is not None, "the unroutable message was dropped"
    assert json.loads(letter.body) == {"marker": marker}


def test_a_countdown_to_a_task_no_route_names_lands_in_the_unroutable_queue(
    app: Celery, bare_amqp_url: str
) -> None:
    """Celery sends it to its default queue through the delayed-delivery exchanges; the
    catch-all's binding there takes it (else the broker holds it in a delayed queue)."""
    declare_needs(app, email.QUEUES)  # the email worker's declaration, nothing else
    task_id = str(uuid.uuid4())

    app.send_task("nobody.runs.this", task_id=task_id, countdown=1)

    letter = take_message(
        bare_amqp_url, "unroutable", lambda letter: letter.headers.get("id") == task_id
    )
    assert letter is not None, "the delayed message never left the delayed-delivery queues"
    assert letter.headers["task"] == "nobody.runs.this"


def test_the_broker_refuses_a_queue_declared_again_with_other_arguments(
    app: Celery, bare_amqp_url: str
) -> None:
    declare_needs(app, email.QUEUES)
    queue = email.TRANSACTIONAL_QUEUE
    other = Queue(
        queue.name,
        exchange=queue.exchange,
        routing_key=queue.routing_key,
        durable=True,
        queue_arguments={**(queue.queue_arguments or {}), "x-dead-letter-exchange": "other.dlx"},
    )

    with Connection(bare_amqp_url) as connection, pytest.raises(connection.channel_errors):
        other.bind(connection.channel()).declare()
