"""The webhooks domain: DeliverWebhook, WebhookDelivered, and where the task is routed."""

from __future__ import annotations

from uuid import uuid4

import pytest
from pydantic import ValidationError

from contracts import route_task
from contracts.webhooks import (
    DELIVER,
    DELIVER_WEBHOOK,
    DeliverWebhook,
    DeliveryOutcome,
    WebhookDelivered,
)


def test_a_delivery_round_trips_the_wire() -> None:
    delivery_id = uuid4()
    wire = DeliverWebhook(delivery_id=delivery_id).to_wire()
    assert wire == {"delivery_id": str(delivery_id)}
    assert DeliverWebhook.from_wire(wire).delivery_id == delivery_id
    assert DELIVER.name == DELIVER_WEBHOOK == "webhook.deliver"
    assert DELIVER.payload is DeliverWebhook and DELIVER.result is WebhookDelivered


def test_a_delivery_names_a_delivery() -> None:
    with pytest.raises(ValidationError, match="delivery_id"):
        DeliverWebhook.from_wire({})
    with pytest.raises(ValidationError, match="delivery_id"):
        DeliverWebhook.from_wire({"delivery_id": "not a uuid"})


def test_the_result_says_how_it_ended() -> None:
    result = WebhookDelivered(delivery_id=uuid4(), outcome=DeliveryOutcome.FAILED, attempts=31)
    assert result.to_wire()["outcome"] == "failed"
    with pytest.raises(ValidationError):
        WebhookDelivered(delivery_id=uuid4(), outcome="lost", attempts=1)  # type: ignore[arg-type]


def test_deliveries_wait_in_their_own_queue_with_a_dead_letter_queue() -> None:
    assert route_task(DELIVER_WEBHOOK, (), {"delivery_id": str(uuid4())}, {}) == {
        "queue": "webhooks.deliver",
        "exchange": "webhooks",
        "routing_key": "webhook.deliver.default",
        "declare": [],
    }
    [queue] = DELIVER.queues
    assert queue.queue_arguments is not None
    assert queue.queue_arguments["x-dead-letter-exchange"] == "webhooks.dlx"
    assert [q.name for q in DELIVER.dead_letter_queues] == ["webhooks.deliver.dlq"]
