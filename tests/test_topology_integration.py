"""The broker topology as declared by `api migrate`, observed on a real RabbitMQ."""

from __future__ import annotations

import time
import uuid

import pytest
from kombu import Connection, Exchange, Queue
from kombu.message import Message

pytestmark = pytest.mark.integration


def get_one(connection: Connection, queue_name: str, timeout: float = 10.0) -> Message | None:
    queue = Queue(queue_name, channel=connection.default_channel, no_declare=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = queue.get(no_ack=False)
        if message is not None:
            message.ack()
            return message
        time.sleep(0.1)
    return None


def test_a_message_no_binding_matches_lands_in_the_unroutable_queue(
    migrated: dict[str, str],
) -> None:
    marker = uuid.uuid4().hex
    with Connection(migrated["AMQP_URL"]) as connection:
        connection.Producer().publish(
            {"marker": marker},
            exchange=Exchange("email", type="topic", passive=True),
            routing_key="email.send.nowhere",
            serializer="json",
        )
        message = get_one(connection, "unroutable")
    assert message is not None, "the unroutable message did not reach the unroutable queue"
    assert message.payload == {"marker": marker}
    assert message.delivery_info["routing_key"] == "email.send.nowhere"
