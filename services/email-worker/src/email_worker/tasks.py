"""The ``email.send`` task."""

from __future__ import annotations

from typing import Any

from celery import Celery, Task

from contracts import EmailSent, SendEmail
from contracts.email import SEND, RefusedRecipient
from contracts.worker import ContractTask, backoff, parse_payload
from email_worker import deliveries
from email_worker.attachments import load_attachments
from email_worker.config import Settings
from email_worker.db import patiently
from email_worker.mime import build_message, sender_domain
from email_worker.smtp import PermanentDeliveryError, TransientDeliveryError, deliver


def send_email(task: Task[Any, Any], settings: Settings, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Deliver one email once: a redelivered task whose email went out returns that result."""
    payload: SendEmail = parse_payload(SEND, kwargs)
    task_id = str(task.request.id)
    with deliveries.exclusive(task_id):
        earlier = deliveries.already_sent(task_id)
        if earlier is not None:
            return earlier.to_wire()
        return _deliver(task, settings, payload, task_id)


def _deliver(
    task: Task[Any, Any], settings: Settings, payload: SendEmail, task_id: str
) -> dict[str, Any]:
    recipients = [*payload.to, *payload.cc, *payload.bcc]
    attempt = deliveries.Attempt(
        task_id=task_id,
        workflow_id=getattr(task.request, "workflow_id", None),
        tenant=payload.tenant,
        lane=payload.lane.value,
        attempt=task.request.retries + 1,
        recipients=len(recipients),
    )
    message_id = f"<{task_id}@{sender_domain(settings.smtp_from)}>"
    attachments = patiently(lambda: load_attachments(payload, settings.email_max_attachment_bytes))
    message = build_message(
        payload, sender=settings.smtp_from, message_id=message_id, attachments=attachments
    )
    try:
        refused = deliver(message, settings)
    except TransientDeliveryError as exc:
        final = task.request.retries >= settings.email_max_retries
        deliveries.record_failed(attempt, "failed" if final else "deferred", str(exc), exc.code)
        raise task.retry(
            exc=exc,
            countdown=backoff(
                task.request.retries, settings.email_retry_backoff, settings.email_retry_backoff_max
            ),
            max_retries=settings.email_max_retries,
        ) from None
    except PermanentDeliveryError as exc:
        deliveries.record_failed(attempt, "failed", str(exc), exc.code)
        raise
    result = EmailSent(
        message_id=message_id,
        accepted=[r for r in recipients if r not in refused],
        refused=[
            RefusedRecipient(address=address, code=code, message=reply)
            for address, (code, reply) in refused.items()
        ],
    )
    deliveries.record_sent(attempt, result)
    return result.to_wire()


def register(app: Celery, settings: Settings) -> None:
    """Register the email tasks on ``app``."""

    @app.task(name=SEND.name, bind=True, base=ContractTask)
    def send(self: Task[Any, Any], *_parent_results: Any, **kwargs: Any) -> dict[str, Any]:
        return send_email(self, settings, kwargs)
