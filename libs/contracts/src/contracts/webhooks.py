"""The webhooks domain: task ``webhook.deliver``, its payload and result, exchange and queue.

When a workflow finishes, the API's database stores one delivery for each endpoint its
tenant registered, with one outbox message each: a ``webhook.deliver`` naming the
delivery. The API's intake worker runs it: it POSTs the workflow's final document,
signed the Standard Webhooks way, to the endpoint, and retries a failed attempt with
backoff (the same task id, so a twin of the message finds the outcome already stored).
Everything the task needs (the URL, the secret, the document) stays in the database; the
message carries the delivery's id alone.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from pydantic import Field

from contracts.base import Message, TaskContract
from contracts.topology import dead_letter_exchange, dead_letter_queue, domain_exchange, work_queue

DELIVER_WEBHOOK = "webhook.deliver"
"""Task name: send one webhook delivery to its endpoint (run by the API's intake worker)."""

ROUTING_KEY = f"{DELIVER_WEBHOOK}.default"

EXCHANGE = domain_exchange("webhooks")
DEAD_LETTER_EXCHANGE = dead_letter_exchange("webhooks")
QUEUE = work_queue("webhooks.deliver", EXCHANGE, "webhook.#", DEAD_LETTER_EXCHANGE)
QUEUES = (QUEUE,)
DEAD_LETTER_QUEUES = (dead_letter_queue(QUEUE, DEAD_LETTER_EXCHANGE),)


class DeliverWebhook(Message):
    """Payload of ``webhook.deliver``: the delivery to send (its row in the API's database
    names the endpoint and the workflow)."""

    delivery_id: uuid.UUID


class DeliveryOutcome(StrEnum):
    """How a delivery ended."""

    DELIVERED = "delivered"
    """The endpoint answered 2xx."""
    FAILED = "failed"
    """Every attempt failed until the retry window closed: given up."""
    CANCELLED = "cancelled"
    """The endpoint was deleted before the delivery got through."""


class WebhookDelivered(Message):
    """Result of ``webhook.deliver``: how the delivery ended, after how many attempts."""

    delivery_id: uuid.UUID
    outcome: DeliveryOutcome
    attempts: int = Field(ge=0)


DELIVER = TaskContract(
    name=DELIVER_WEBHOOK,
    payload=DeliverWebhook,
    result=WebhookDelivered,
    exchange=EXCHANGE,
    queues=QUEUES,
    queue_for=lambda kwargs: QUEUE,
    routing_key_for=lambda kwargs: ROUTING_KEY,
    dead_letter_queues=DEAD_LETTER_QUEUES,
)
