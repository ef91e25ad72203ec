"""``webhook.deliver``, as the intake worker runs it: one attempt of one delivery.

The task is registered without a limit on retries (``max_retries=None``): the window
ends them. Each run reads the delivery (:func:`api.webhooks.deliveries.load`) and sends only a
``pending`` one whose endpoint still exists; it checks the URL again (DNS can change
since registration), POSTs the signed document (:mod:`api.webhooks.sending`), and
records the attempt with the delivery's new state. A failed attempt is retried by
Celery's ``retry`` (the same task id, a countdown on native delayed delivery) on
:class:`api.webhooks.schedule.RetrySchedule` until ``WEBHOOK_RETRY_FOR`` after the first
attempt; then the delivery is ``failed``. The task's result says how it ended; its
``RETRY`` states say why each attempt failed.

Delivery is at least once: a worker that dies between the POST and the record makes the
broker deliver the message again, and the POST is made again with the same
``webhook-id``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog
from celery import Task

from api.config import Settings
from api.intake.runtime import Runtime
from api.webhooks import addresses, deliveries, sending
from api.webhooks.deliveries import Attempt, Delivery
from api.webhooks.schedule import RetrySchedule
from contracts.webhooks import DELIVER, DeliveryOutcome, WebhookDelivered
from switchyard_runtime.worker import backoff, payload_of

log = structlog.get_logger(__name__)

#: While the database is away: the first wait, doubling up to the second (seconds).
DATABASE_RETRY = (1.0, 30.0)
#: What a lost connection to the database raises.
DATABASE_ERRORS = (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError)


class AttemptFailed(Exception):
    """A webhook attempt did not get a 2xx; the message says what it got instead."""


def schedule_of(settings: Settings) -> RetrySchedule:
    return RetrySchedule(
        base=settings.webhook_retry_base,
        cap=settings.webhook_retry_max,
        window=settings.webhook_retry_for,
    )


def attempt(delivery: Delivery, settings: Settings) -> Attempt:
    """Check the endpoint's URL and POST the signed body to the address checked."""
    try:
        destination = addresses.resolve(delivery.url, allow_private=settings.webhook_allow_private)
    except addresses.UrlRefused as refused:
        return Attempt(datetime.now(UTC), 0, None, f"url refused: {refused}")
    body = sending.body_of(delivery.event, delivery.document)
    headers = sending.signed_headers(delivery.secret, delivery.message_id, body, datetime.now(UTC))
    return sending.post(destination, headers, body, timeout=settings.webhook_timeout)


def _result(delivery: Delivery, outcome: DeliveryOutcome, attempts: int) -> dict[str, Any]:
    return WebhookDelivered(delivery_id=delivery.id, outcome=outcome, attempts=attempts).to_wire()


def deliver(task: Task[Any, Any], runtime: Runtime, kwargs: dict[str, Any]) -> dict[str, Any]:
    """One attempt of the delivery ``kwargs`` names; raises Celery's ``Retry`` to try
    again later (or sooner while the database is away)."""
    payload = payload_of(DELIVER, task, kwargs)
    try:
        return _deliver(task, runtime, payload.delivery_id)
    except DATABASE_ERRORS as exc:
        raise task.retry(
            exc=exc, countdown=backoff(task.request.retries, *DATABASE_RETRY)
        ) from None


def _deliver(task: Task[Any, Any], runtime: Runtime, delivery_id: Any) -> dict[str, Any]:
    settings = runtime.settings
    delivery = runtime.run(deliveries.load(runtime.pool, delivery_id))
    if delivery is None:
        log.warning("webhook delivery unknown; nothing sent", delivery_id=str(delivery_id))
        return WebhookDelivered(
            delivery_id=delivery_id, outcome=DeliveryOutcome.CANCELLED, attempts=0
        ).to_wire()
    context = {
        "delivery_id": str(delivery.id),
        "endpoint_id": str(delivery.endpoint_id),
        "workflow_id": str(delivery.workflow_id),
        "webhook_id": delivery.message_id,
    }
    if delivery.status != deliveries.PENDING:
        # A twin of the message, or a run after the outcome was stored: nothing to send.
        return _result(delivery, DeliveryOutcome(delivery.status), delivery.attempts)
    if delivery.endpoint_deleted:
        runtime.run(deliveries.cancel(runtime.pool, delivery.id))
        log.info("webhook cancelled: its endpoint was deleted", **context)
        return _result(delivery, DeliveryOutcome.CANCELLED, delivery.attempts)

    made = attempt(delivery, settings)
    attempts = delivery.attempts + 1
    first = delivery.first_attempt_at or made.at
    wait = (
        None
        if made.delivered
        else schedule_of(settings).delay(attempts, (made.at - first).total_seconds())
    )
    if made.delivered:
        status = deliveries.DELIVERED
    else:
        status = deliveries.PENDING if wait is not None else deliveries.FAILED
    next_at = None if wait is None else made.at + timedelta(seconds=wait)
    runtime.run(
        deliveries.record(runtime.pool, delivery, made, status=status, next_attempt_at=next_at)
    )
    details = {**context, "attempt": attempts, "status_code": made.status_code}
    if made.delivered:
        log.info("webhook delivered", **details)
        return _result(delivery, DeliveryOutcome.DELIVERED, attempts)
    if wait is None:
        log.warning("webhook given up", error=made.error, **details)
        return _result(delivery, DeliveryOutcome.FAILED, attempts)
    log.info("webhook attempt failed; will retry", error=made.error, retry=wait, **details)
    raise task.retry(exc=AttemptFailed(made.error), countdown=wait)
