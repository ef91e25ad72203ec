"""Scenario 4: SIGKILL the API after it answered 202 but before its relay published.

With the broker stopped the relay cannot publish, so every accepted workflow is still
only a committed outbox row when the API dies. Nothing else publishes it: the queue stays
empty until an API starts again, whose relay sends every one of them.
"""

from __future__ import annotations

from typing import Any

import pytest
from kombu import Connection

from tests.faults.conftest import (
    Counts,
    Stack,
    email,
    outbox_size,
    subjects,
    wait_until,
    wait_until_final,
)

pytestmark = pytest.mark.e2e

EMAILS = 20


def queued_emails(stack: Stack) -> int:
    """Messages waiting in the transactional email queue (a passive declare counts them)."""
    with Connection(stack.rabbitmq.url) as connection:
        channel: Any = connection.default_channel  # kombu types it as the abstract StdChannel
        declared = channel.queue_declare(queue="email.transactional", passive=True)
    return int(declared.message_count)


def test_workflows_accepted_by_an_api_killed_before_publishing_are_delivered(
    stack: Stack, report: list[Counts]
) -> None:
    counts = Counts("4 SIGKILL API before its relay published")
    report.append(counts)
    stack.start("api")
    wanted = subjects("api-kill", EMAILS)
    stack.rabbitmq.stop()
    with stack.client() as client:
        accepted = {}
        for subject in wanted:
            response = client.post("/v1/emails", json=email(subject))
            assert response.status_code == 202, response.text
            accepted[subject] = response.json()["workflow_id"]
    counts.accepted = len(accepted)
    assert outbox_size(stack.postgres) == EMAILS

    stack.services["api"].kill()
    stack.rabbitmq.start()
    assert queued_emails(stack) == 0, "only the API's relay publishes outbox rows"
    assert outbox_size(stack.postgres) == EMAILS

    stack.start("api")
    wait_until("the relay to empty the outbox", lambda: outbox_size(stack.postgres) == 0, 60)
    counts.notes["queued_after_restart"] = queued = queued_emails(stack)
    assert queued >= EMAILS
    stack.start("email-worker")
    with stack.client() as client:
        documents = wait_until_final(client, accepted.values(), timeout=120)
    counts.count_documents(documents.values())
    counts.count_deliveries(stack.sink, accepted)

    unfinished = [d for d in documents.values() if d["status"] != "succeeded"]
    assert counts.finished == EMAILS, (unfinished[:3], stack.logs())
    assert counts.succeeded == EMAILS, unfinished[:3]
    assert counts.lost == 0
    assert counts.duplicated == 0
