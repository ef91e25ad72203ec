"""A broker that stops answering holds the relay's publisher no longer than its timeout.

The private RabbitMQ node is frozen (SIGSTOP to its process group) with the publisher's
connection open: the kernel still takes what the publisher writes, but no confirm comes.
The publish gives up after ``confirm_timeout`` with every message unsettled (nothing
counted against them), and once the node runs again the next publish is confirmed on a
fresh connection.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from kombu import Connection, Exchange, Queue

from api.workflows.publisher import BatchPublisher, Outcome
from tests.support.private_instances import PrivateRabbitMQ, private_rabbitmq

pytestmark = pytest.mark.integration

CONFIRM_TIMEOUT = 2.0
QUEUE = Queue("confirm-tests", Exchange("confirm-tests", type="direct"), routing_key="confirm")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[PrivateRabbitMQ]:
    with private_rabbitmq(tmp_path) as rabbitmq:
        with Connection(rabbitmq.url) as connection:
            QUEUE.bind(connection.default_channel).declare()
        yield rabbitmq


def message(app: Celery) -> dict[str, Any]:
    options = {
        "queue": QUEUE.name,
        "exchange": QUEUE.exchange.name,
        "routing_key": QUEUE.routing_key,
        "task_id": str(uuid.uuid4()),
    }
    return dict(app.signature("tests.noop", options=options))


def test_a_frozen_broker_times_the_batch_out_and_a_thawed_one_confirms_again(
    broker: PrivateRabbitMQ,
) -> None:
    assert broker.process is not None
    app = Celery("confirm-tests", broker=broker.url, set_as_current=False)
    app.conf.update(task_queues=[QUEUE], task_create_missing_queues=False)
    publisher = BatchPublisher(app, confirm_timeout=CONFIRM_TIMEOUT)
    try:
        assert [r.outcome for r in publisher.publish([message(app)]).results] == [Outcome.CONFIRMED]
        os.killpg(broker.process.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            frozen = publisher.publish([message(app), message(app)])
            waited = time.monotonic() - started
        finally:
            os.killpg(broker.process.pid, signal.SIGCONT)
        thawed = publisher.publish([message(app)])
    finally:
        publisher.close()
        app.close()

    assert [r.outcome for r in frozen.results] == [Outcome.UNSETTLED, Outcome.UNSETTLED]
    assert frozen.stalled == f"no publisher confirm within {CONFIRM_TIMEOUT:g} s"
    # The bound is the setting itself (plus a moment to give the connection up).
    assert CONFIRM_TIMEOUT <= waited < CONFIRM_TIMEOUT + 2
    assert [r.outcome for r in thawed.results] == [Outcome.CONFIRMED]
