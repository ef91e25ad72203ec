"""The ``email.send`` task."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import structlog
from celery import Celery, Task

from contracts import EmailSent
from contracts.email import SEND, RefusedRecipient
from email_worker import deliveries
from email_worker.attachments import load_attachments
from email_worker.config import Settings
from email_worker.db import patiently
from email_worker.mime import Outgoing, build_message, plain_text, sender_domain
from email_worker.smtp import DeliveryError, PermanentDeliveryError, TransientDeliveryError, deliver
from switchyard_runtime.results import Write
from switchyard_runtime.worker import ContractTask, backoff, commit_with_outcome, payload_of

log = structlog.get_logger(__name__)


def _record(task: Task[Any, Any], row: Write) -> None:
    """Write ``row`` with the task's outcome, in the statement that stores it."""
    commit_with_outcome(task, [row])


def _failed(
    task: Task[Any, Any], attempt: deliveries.Attempt, exc: DeliveryError, final: bool
) -> None:
    """Log and record a failed attempt with its full detail; the stored task result (what
    the tenant reads) keeps only the exception's public message."""
    outcome = "failed" if final else "deferred"
    log.warning(
        "delivery failed", outcome=outcome, error=exc.detail, smtp_code=exc.code, public=str(exc)
    )
    _record(task, deliveries.failed(attempt, outcome, exc.detail, exc.code))


def send_email(task: Task[Any, Any], settings: Settings, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Deliver one email.

    Runs once per task id at a time and never after it succeeded: the task's claim in the
    result backend (:class:`switchyard_runtime.worker.ContractTask`) sees to that, so a duplicate
    message waits for the first copy, then is skipped. No transaction is open while the
    SMTP server is talked to; the delivery is recorded with the task's result.
    """
    payload = payload_of(SEND, task, kwargs)
    task_id = str(task.request.id)
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
    message: EmailMessage | Outgoing | None = plain_text(
        payload, sender=settings.smtp_from, message_id=message_id
    )
    if message is None:
        attachments = patiently(
            lambda: load_attachments(payload, settings.email_max_attachment_bytes)
        )
        message = build_message(
            payload, sender=settings.smtp_from, message_id=message_id, attachments=attachments
        )
    try:
        refused = deliver(message, settings)
    except TransientDeliveryError as exc:
        _failed(task, attempt, exc, final=task.request.retries >= settings.email_max_retries)
        raise task.retry(
            exc=exc,
            countdown=backoff(
                task.request.retries, settings.email_retry_backoff, settings.email_retry_backoff_max
            ),
            max_retries=settings.email_max_retries,
        ) from None
    except PermanentDeliveryError as exc:
        _failed(task, attempt, exc, final=True)
        raise
    result = EmailSent(
        message_id=message_id,
        accepted=[r for r in recipients if r not in refused],
        refused=[
            RefusedRecipient(address=address, code=code, message=reply)
            for address, (code, reply) in refused.items()
        ],
    )
    wire = result.to_wire()
    _record(task, deliveries.sent(attempt, result, wire))
    return wire


def register(app: Celery, settings: Settings) -> None:
    """Register the email tasks on ``app``."""

    @app.task(name=SEND.name, bind=True, base=ContractTask)
    def send(self: Task[Any, Any], *_parent_results: Any, **kwargs: Any) -> dict[str, Any]:
        return send_email(self, settings, kwargs)
