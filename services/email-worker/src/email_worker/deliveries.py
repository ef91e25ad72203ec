"""The rows that record delivery attempts: what the email_activity report counts.

They are not written on their own: the task hands them to the result backend, which
writes them in the statement that stores the task's outcome
(:meth:`contracts.results.ResultBackend.commit_with_outcome`), so an email recorded as
sent and a task stored as succeeded are one commit, never one without the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, literal_column
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.sql.dml import Insert

from contracts import EmailSent
from email_worker.tables import deliveries


@dataclass(frozen=True)
class Attempt:
    task_id: str
    workflow_id: str | None
    tenant: str
    lane: str
    attempt: int
    recipients: int


def sent(attempt: Attempt, result: EmailSent, wire: dict[str, Any]) -> Insert:
    """A delivery the SMTP server accepted (once per task, whatever the retries)."""
    return (
        pg_insert(deliveries)
        .values(**_columns(attempt), outcome="sent", message_id=result.message_id, result=wire)
        .on_conflict_do_nothing(
            index_elements=[deliveries.c.task_id],
            # A literal: PostgreSQL matches the partial unique index by its predicate,
            # which a bound parameter would hide.
            index_where=deliveries.c.outcome == literal_column("'sent'"),
        )
    )


def failed(attempt: Attempt, outcome: str, detail: str, code: int | None) -> Insert:
    """A failed attempt (``deferred`` when it will be retried, else ``failed``)."""
    return insert(deliveries).values(
        **_columns(attempt), outcome=outcome, detail=detail[:1000], smtp_code=code
    )


def _columns(attempt: Attempt) -> dict[str, Any]:
    return {
        "task_id": attempt.task_id,
        "workflow_id": attempt.workflow_id,
        "tenant": attempt.tenant,
        "lane": attempt.lane,
        "attempt": attempt.attempt,
        "recipients": attempt.recipients,
        "attempted_at": datetime.now(UTC),
    }
