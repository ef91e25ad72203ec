"""The status updater's work lists: unfinished workflows, in windows, and those whose
result rows changed since their document was rendered (the latter joins
``celery_taskmeta``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from api.db import Executor


async def unfinished_changed(
    executor: Executor, *, after: tuple[datetime, UUID] | None, limit: int
) -> tuple[list[UUID], tuple[datetime, UUID] | None]:
    """Unfinished workflows, oldest first, that have a result row written since (or up
    to a minute before, for clocks that disagree) their document was last rendered.

    The reconcile pass's work list: what a missed notification may have left stale.
    Returns the ids and where the next batch starts (``None`` at the end).
    """
    arguments: list[Any] = [limit]
    position = ""
    if after is not None:
        arguments.extend(after)
        position = " AND (w.created_at > $2 OR (w.created_at = $2 AND w.id > $3))"
    rows = await executor.fetch(
        "SELECT w.id, w.created_at,"
        " EXISTS (SELECT 1 FROM jsonb_array_elements(w.steps) AS step"
        "  JOIN celery_taskmeta AS t ON t.task_id = step->>'task_id'"
        "  WHERE t.date_done >= timezone('utc', w.updated_at) - interval '1 minute') AS changed"
        f" FROM api.workflows AS w WHERE w.finished_at IS NULL{position}"
        " ORDER BY w.created_at, w.id LIMIT $1",
        *arguments,
    )
    if not rows:
        return [], None
    last = rows[-1]
    following = (last["created_at"], last["id"]) if len(rows) == limit else None
    return [row["id"] for row in rows if row["changed"]], following


async def unfinished_after(
    executor: Executor, *, after: tuple[datetime, UUID] | None, limit: int
) -> list[asyncpg.Record]:
    """The next ``limit`` unfinished workflows after ``after`` (the sweep's window)."""
    if after is None:
        rows: list[asyncpg.Record] = await executor.fetch(
            "SELECT id, created_at FROM api.workflows WHERE finished_at IS NULL"
            " ORDER BY created_at, id LIMIT $1",
            limit,
        )
        return rows
    rows = await executor.fetch(
        "SELECT id, created_at FROM api.workflows WHERE finished_at IS NULL"
        " AND (created_at > $2 OR (created_at = $2 AND id > $3))"
        " ORDER BY created_at, id LIMIT $1",
        limit,
        *after,
    )
    return rows
