"""The outbox table's statements: taking due messages, and settling them.

A message is written with its workflow (:func:`api.workflows.creation.create`), due at once
(``next_attempt_at`` defaults to the time of the insert). The relay takes due messages
in the order of the index ``outbox_due`` (``next_attempt_at, id``), locked with ``SKIP
LOCKED`` so that the relays of several API processes share the work; a published one is
deleted, a refused one is given a later ``next_attempt_at`` (so the rows behind it go
out meanwhile) or, past its last attempt, moved to ``api.outbox_dead``.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg

from api.db import Connection, Executor

_TAKE = (
    "SELECT o.id, o.message, o.workflow_id, o.attempts, w.request_id,"
    " w.steps->0->>'task_id' AS first_task_id FROM api.outbox AS o"
    " LEFT JOIN api.workflows AS w ON w.id = o.workflow_id"
    " WHERE o.next_attempt_at <= now()"
    " ORDER BY o.next_attempt_at, o.id LIMIT $1 FOR UPDATE OF o SKIP LOCKED"
)

#: Seconds from now until the first message is due: negative when one is overdue (by
#: that much), ``NULL`` when the outbox is empty. The first entry of ``outbox_due``.
_FIRST_DUE = (
    "SELECT extract(epoch FROM next_attempt_at - now())::float8 FROM api.outbox"
    " ORDER BY next_attempt_at, id LIMIT 1"
)


async def take(conn: Connection, limit: int) -> list[asyncpg.Record]:
    """Up to ``limit`` due messages, oldest due first, locked until the transaction ends
    (with their workflow's request id and the task id of its first step)."""
    rows: list[asyncpg.Record] = await conn.fetch(_TAKE, limit)
    return rows


async def first_due_in(executor: Executor) -> float | None:
    """Seconds until the first message is due (negative: it has waited that long since it
    became due), or ``None`` when the outbox is empty. One indexed read."""
    seconds: float | None = await executor.fetchval(_FIRST_DUE)
    return seconds


async def delete(conn: Connection, ids: Sequence[int]) -> None:
    """The broker confirmed these messages."""
    if ids:
        await conn.execute("DELETE FROM api.outbox WHERE id = ANY($1::bigint[])", list(ids))


async def retry_later(conn: Connection, retries: Sequence[tuple[int, float, str]]) -> None:
    """Count a refusal of each ``(id, seconds, reason)`` and make it due ``seconds`` later."""
    if not retries:
        return
    ids, delays, reasons = zip(*retries, strict=True)
    await conn.execute(
        "UPDATE api.outbox AS o SET attempts = o.attempts + 1, last_error = r.reason,"
        " next_attempt_at = now() + make_interval(secs => r.delay)"
        " FROM unnest($1::bigint[], $2::float8[], $3::text[]) AS r(id, delay, reason)"
        " WHERE o.id = r.id",
        list(ids),
        list(delays),
        list(reasons),
    )


async def move_aside(conn: Connection, failures: Sequence[tuple[int, str]]) -> list[UUID]:
    """Move each refused ``(id, reason)`` to ``api.outbox_dead`` (its last refusal
    counted); returns their workflows."""
    if not failures:
        return []
    ids, reasons = zip(*failures, strict=True)
    rows = await conn.fetch(
        "WITH moved AS ("
        " DELETE FROM api.outbox AS o USING unnest($1::bigint[], $2::text[]) AS r(id, reason)"
        " WHERE o.id = r.id"
        " RETURNING o.id, o.workflow_id, o.message, o.created_at, o.attempts, r.reason)"
        " INSERT INTO api.outbox_dead"
        " (id, workflow_id, message, created_at, attempts, last_error, moved_at)"
        " SELECT id, workflow_id, message, created_at, attempts + 1, reason, now() FROM moved"
        " RETURNING workflow_id",
        list(ids),
        list(reasons),
    )
    return [row["workflow_id"] for row in rows]
