"""The rows that record delivery attempts: what the email_activity report counts.

They are not written on their own: the task hands them to the result backend, which
writes them in the statement that stores the task's outcome
(:meth:`switchyard_runtime.results.ResultBackend.commit_with_outcome`), so an email recorded as
sent and a task stored as succeeded are one commit, never one without the other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from contracts import EmailSent
from switchyard_runtime.results import Write

_COLUMNS = "task_id, workflow_id, tenant, lane, attempt, recipients, attempted_at, outcome"

#: Once per task, whatever the retries: the partial unique index on sent deliveries.
_SENT = (
    f"INSERT INTO email_worker.deliveries ({_COLUMNS}, message_id, result)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, 'sent', %s, %s::jsonb)"
    " ON CONFLICT (task_id) WHERE outcome = 'sent' DO NOTHING"
)
_FAILED = (
    f"INSERT INTO email_worker.deliveries ({_COLUMNS}, detail, smtp_code)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


@dataclass(frozen=True)
class Attempt:
    task_id: str
    workflow_id: str | None
    tenant: str
    lane: str
    attempt: int
    recipients: int

    def columns(self) -> tuple[object, ...]:
        return (
            self.task_id,
            self.workflow_id,
            self.tenant,
            self.lane,
            self.attempt,
            self.recipients,
            datetime.now(UTC),
        )


def sent(attempt: Attempt, result: EmailSent, wire: dict[str, object]) -> Write:
    """A delivery the SMTP server accepted (once per task, whatever the retries)."""
    return Write(_SENT, (*attempt.columns(), result.message_id, json.dumps(wire)))


def failed(attempt: Attempt, outcome: str, detail: str, code: int | None) -> Write:
    """A failed attempt (``deferred`` when it will be retried, else ``failed``)."""
    return Write(_FAILED, (*attempt.columns(), outcome, detail[:1000], code))
