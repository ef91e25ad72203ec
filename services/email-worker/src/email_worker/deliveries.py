"""Recording delivery attempts, and finding an email that already went out.

Each waits for the database when it cannot be reached (:func:`email_worker.db.patiently`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Executable, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError

from contracts import EmailSent
from email_worker.db import engine, patiently
from email_worker.tables import deliveries


@dataclass(frozen=True)
class Attempt:
    task_id: str
    workflow_id: str | None
    tenant: str
    lane: str
    attempt: int
    recipients: int


@contextmanager
def exclusive(task_id: str) -> Iterator[None]:
    """Deliver ``task_id`` in one process at a time.

    At-least-once publishing can queue two copies of one message, which two worker
    processes may run at once: both would find nothing sent, and both would send. A
    transaction-level advisory lock on the task id makes the second copy wait until the
    first recorded its delivery (or failed), then find it.
    """

    def lock() -> Connection:
        conn = engine().connect()
        try:
            conn.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(task_id, 0))))
        except BaseException:
            conn.close()
            raise
        return conn

    conn = patiently(lock)
    try:
        yield
    finally:
        # Closing ends the transaction, which releases the lock (a lost connection did).
        with suppress(DBAPIError):
            conn.close()


def already_sent(task_id: str) -> EmailSent | None:
    """The result of this task's earlier successful delivery, if there was one."""

    def read() -> Any:
        with engine().connect() as conn:
            return conn.execute(
                select(deliveries.c.result).where(
                    deliveries.c.task_id == task_id, deliveries.c.outcome == "sent"
                )
            ).scalar()

    stored = patiently(read)
    return None if stored is None else EmailSent.from_wire(stored)


def record_sent(attempt: Attempt, result: EmailSent) -> None:
    """Record a delivery the SMTP server accepted (once per task, whatever the retries)."""
    statement = (
        pg_insert(deliveries)
        .values(
            **_columns(attempt),
            outcome="sent",
            message_id=result.message_id,
            result=result.to_wire(),
        )
        .on_conflict_do_nothing(
            index_elements=[deliveries.c.task_id],
            index_where=deliveries.c.outcome == "sent",
        )
    )
    _write(statement)


def record_failed(attempt: Attempt, outcome: str, detail: str, code: int | None) -> None:
    """Record a failed attempt (``deferred`` when it will be retried, else ``failed``)."""
    _write(
        insert(deliveries).values(
            **_columns(attempt), outcome=outcome, detail=detail[:1000], smtp_code=code
        )
    )


def _write(statement: Executable) -> None:
    def write() -> None:
        with engine().begin() as conn:
            conn.execute(statement)

    patiently(write)


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
