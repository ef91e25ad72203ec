"""Webhook deliveries and their attempts (asyncpg, plain SQL).

A delivery is inserted, ``pending``, by the trigger that sees its workflow finish (with
its outbox message). The worker reads it with what sending needs (:func:`load`), and
records each attempt with the delivery's new state in one statement (:func:`record`):
``delivered``, ``pending`` again (a retry is scheduled), ``failed`` (given up) or
``cancelled`` (its endpoint was deleted). Only ``pending`` deliveries are sent, so a
twin of the message, or one run again after its outcome was stored, sends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from api.db import Executor
from api.workflows.listing import Cursor

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
CANCELLED = "cancelled"


@dataclass(frozen=True)
class Delivery:
    """A delivery with what its next attempt needs."""

    id: UUID
    endpoint_id: UUID
    workflow_id: UUID
    event: str
    #: The ``webhook-id`` header of every attempt.
    message_id: str
    status: str
    attempts: int
    first_attempt_at: datetime | None
    url: str
    secret: str
    endpoint_deleted: bool
    #: The workflow's final document, JSON text as the API serves it.
    document: str


async def load(executor: Executor, delivery_id: UUID) -> Delivery | None:
    """The delivery, its endpoint and its workflow's document; ``None`` if unknown."""
    row = await executor.fetchrow(
        "SELECT d.id, d.endpoint_id, d.workflow_id, d.event, d.message_id, d.status,"
        " d.attempts, d.first_attempt_at, e.url, e.secret,"
        " e.deleted_at IS NOT NULL AS endpoint_deleted, w.document"
        " FROM api.webhook_deliveries AS d"
        " JOIN api.webhook_endpoints AS e ON e.id = d.endpoint_id"
        " JOIN api.workflows AS w ON w.id = d.workflow_id"
        " WHERE d.id = $1",
        delivery_id,
    )
    return None if row is None else Delivery(**dict(row))


@dataclass(frozen=True)
class Attempt:
    """What one attempt got: a status code, or an error instead (``error`` is set for
    every attempt that did not deliver)."""

    at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.error is None


async def record(
    executor: Executor,
    delivery: Delivery,
    attempt: Attempt,
    *,
    status: str,
    next_attempt_at: datetime | None,
) -> None:
    """Store ``attempt`` and the delivery's state after it (one statement)."""
    await executor.execute(
        "WITH attempt AS ("
        " INSERT INTO api.webhook_attempts (id, delivery_id, endpoint_id, attempt,"
        " attempted_at, duration_ms, status_code, error, outcome)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9))"
        " UPDATE api.webhook_deliveries SET attempts = $4,"
        " first_attempt_at = coalesce(first_attempt_at, $5), status = $10,"
        " next_attempt_at = $11, finished_at = CASE WHEN $10 = 'pending' THEN NULL ELSE now() END"
        " WHERE id = $2",
        uuid4(),
        delivery.id,
        delivery.endpoint_id,
        delivery.attempts + 1,
        attempt.at,
        attempt.duration_ms,
        attempt.status_code,
        attempt.error,
        DELIVERED if attempt.delivered else FAILED,
        status,
        next_attempt_at,
    )


async def cancel(executor: Executor, delivery_id: UUID) -> None:
    """The delivery's endpoint was deleted: nothing more is sent."""
    await executor.execute(
        "UPDATE api.webhook_deliveries SET status = 'cancelled', next_attempt_at = NULL,"
        " finished_at = now() WHERE id = $1 AND status = 'pending'",
        delivery_id,
    )


_ATTEMPT_COLUMNS = (
    "a.id, a.delivery_id, d.message_id, d.workflow_id, d.event, a.attempt, a.attempted_at,"
    " a.duration_ms, a.status_code, a.error, a.outcome, d.status AS delivery_status,"
    " d.next_attempt_at"
)


async def page(
    executor: Executor, endpoint_id: UUID, *, limit: int, after: Cursor | None
) -> tuple[list[dict[str, Any]], Cursor | None]:
    """One page of the endpoint's attempts, newest first, and the next page's cursor."""
    arguments: list[Any] = [endpoint_id]
    position = ""
    if after is not None:
        arguments.extend([after.created_at, after.id])
        position = " AND (a.attempted_at < $2 OR (a.attempted_at = $2 AND a.id < $3))"
    arguments.append(limit + 1)
    rows = await executor.fetch(
        f"SELECT {_ATTEMPT_COLUMNS} FROM api.webhook_attempts AS a"
        " JOIN api.webhook_deliveries AS d ON d.id = a.delivery_id"
        f" WHERE a.endpoint_id = $1{position}"
        f" ORDER BY a.attempted_at DESC, a.id DESC LIMIT ${len(arguments)}",
        *arguments,
    )
    following = None
    if len(rows) > limit:
        rows = rows[:limit]
        following = Cursor(rows[-1]["attempted_at"], rows[-1]["id"])
    return [dict(row) for row in rows], following
