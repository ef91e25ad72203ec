"""Reading and writing workflows in PostgreSQL (SQLAlchemy Core on asyncpg)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, bindparam, func, insert, or_, select, text, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from api.tables import outbox, taskmeta, workflows
from api.workflows.plans import Plan
from api.workflows.status import TaskRow

WORKFLOW_COLUMNS = (
    workflows.c.id,
    workflows.c.tenant,
    workflows.c.kind,
    workflows.c.shape,
    workflows.c.origin,
    workflows.c.request_id,
    workflows.c.status,
    workflows.c.created_at,
    workflows.c.updated_at,
    workflows.c.finished_at,
    workflows.c.cancelled_at,
    workflows.c.steps,
    workflows.c.result,
    workflows.c.error,
)


def now() -> datetime:
    return datetime.now(UTC)


async def create(
    conn: AsyncConnection,
    plan: Plan,
    *,
    tenant: str,
    request: Mapping[str, Any],
    origin: str = "api",
    request_id: str | None = None,
) -> datetime:
    """Store the workflow and its outbox message in the caller's transaction."""
    created_at = now()
    await conn.execute(
        insert(workflows).values(
            id=plan.workflow_id,
            tenant=tenant,
            kind=plan.kind,
            shape=plan.shape,
            origin=origin,
            request_id=request_id,
            status="queued",
            created_at=created_at,
            updated_at=created_at,
            request=dict(request),
            steps=plan.steps,
        )
    )
    await conn.execute(
        insert(outbox).values(
            workflow_id=plan.workflow_id, message=plan.canvas, created_at=created_at
        )
    )
    return created_at


def parse_id(value: str) -> UUID | None:
    """The UUID in ``value``, or ``None`` when it is not one (that id cannot exist)."""
    try:
        return UUID(value)
    except ValueError:
        return None


async def fetch(
    conn: AsyncConnection, workflow_id: UUID, tenant: str, *, for_update: bool = False
) -> RowMapping | None:
    query = select(*WORKFLOW_COLUMNS).where(
        workflows.c.id == workflow_id, workflows.c.tenant == tenant
    )
    if for_update:
        query = query.with_for_update()
    return (await conn.execute(query)).mappings().first()


async def task_rows(conn: AsyncConnection, task_ids: Iterable[str]) -> dict[str, TaskRow]:
    """The result rows of these tasks (missing ones have not been stored yet)."""
    ids = list(task_ids)
    if not ids:
        return {}
    result = await conn.execute(
        select(
            taskmeta.c.task_id,
            taskmeta.c.status,
            taskmeta.c.result,
            taskmeta.c.date_done,
            taskmeta.c.date_started,
            taskmeta.c.retries,
            taskmeta.c.worker,
        ).where(taskmeta.c.task_id.in_(ids))
    )
    return {
        row.task_id: TaskRow(
            task_id=row.task_id,
            state=row.status,
            result=row.result,
            date_done=row.date_done,
            date_started=row.date_started,
            retries=row.retries,
            worker=row.worker,
        )
        for row in result
    }


@dataclass(frozen=True)
class Cursor:
    """A position in the newest-first listing: after (created_at, id)."""

    created_at: datetime
    id: UUID

    def encode(self) -> str:
        raw = json.dumps([self.created_at.isoformat(), str(self.id)]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor:
        """Raises ``ValueError`` for anything this API did not hand out."""
        try:
            padded = value + "=" * (-len(value) % 4)
            created_at, workflow_id = json.loads(base64.urlsafe_b64decode(padded))
            if not isinstance(workflow_id, str):  # UUID() raises AttributeError on others
                raise TypeError("workflow id is not a string")
            moment = datetime.fromisoformat(created_at)
            if moment.tzinfo is None:
                raise ValueError("naive timestamp")
            return cls(moment, UUID(workflow_id))
        except (binascii.Error, TypeError, ValueError, UnicodeDecodeError) as exc:
            raise ValueError("invalid cursor") from exc


async def page(
    conn: AsyncConnection,
    *,
    tenant: str,
    kind: str | None,
    status: str | None,
    limit: int,
    after: Cursor | None,
) -> tuple[list[RowMapping], Cursor | None]:
    """One page of workflows, newest first, and the cursor of the next page."""
    query = select(*WORKFLOW_COLUMNS).where(workflows.c.tenant == tenant)
    if kind is not None:
        query = query.where(workflows.c.kind == kind)
    if status is not None:
        query = query.where(workflows.c.status == status)
    if after is not None:
        query = query.where(
            or_(
                workflows.c.created_at < after.created_at,
                and_(workflows.c.created_at == after.created_at, workflows.c.id < after.id),
            )
        )
    query = query.order_by(workflows.c.created_at.desc(), workflows.c.id.desc()).limit(limit + 1)
    rows = list((await conn.execute(query)).mappings())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = Cursor(last["created_at"], last["id"])
    return rows, next_cursor


async def unfinished(
    conn: AsyncConnection, *, after: datetime | None, limit: int
) -> list[RowMapping]:
    """Workflows not yet finished, oldest first (the tracker's work list)."""
    query = select(*WORKFLOW_COLUMNS).where(workflows.c.finished_at.is_(None))
    if after is not None:
        query = query.where(workflows.c.created_at > after)
    # Rows being cancelled right now are skipped; the next pass picks them up.
    query = query.order_by(workflows.c.created_at).limit(limit).with_for_update(skip_locked=True)
    return list((await conn.execute(query)).mappings())


@dataclass(frozen=True)
class SavedState:
    """A workflow's derived state, as the tracker stores it."""

    workflow_id: UUID
    status: str
    steps: list[dict[str, Any]]
    updated_at: datetime
    finished_at: datetime | None
    result: Any
    error: Any


async def save_states(conn: AsyncConnection, states: list[SavedState]) -> None:
    """Store several workflows' states in one statement executed for each (a batch)."""
    if not states:
        return
    await conn.execute(
        update(workflows).where(workflows.c.id == bindparam("workflow_id")),
        [
            {
                "workflow_id": state.workflow_id,
                "status": state.status,
                "steps": state.steps,
                "updated_at": state.updated_at,
                "finished_at": state.finished_at,
                "result": state.result,
                "error": state.error,
            }
            for state in states
        ],
    )


async def mark_cancelled(
    conn: AsyncConnection, workflow_id: UUID, steps: list[dict[str, Any]], at: datetime
) -> None:
    await conn.execute(
        update(workflows)
        .where(workflows.c.id == workflow_id)
        .values(cancelled_at=at, status="cancelled", steps=steps, updated_at=at)
    )


#: Marks tasks REVOKED in Celery's result table unless they already started or finished;
#: returns the ids it marked. Workers skip a task whose stored state is REVOKED.
_REVOKE = text(
    """
    INSERT INTO celery_taskmeta (id, task_id, status, date_done)
    SELECT nextval('task_id_sequence'), task_id, 'REVOKED', timezone('utc', now())
    FROM unnest(CAST(:task_ids AS text[])) AS task_id
    ON CONFLICT (task_id) DO UPDATE
        SET status = 'REVOKED', date_done = excluded.date_done
        WHERE celery_taskmeta.status IN ('PENDING', 'RECEIVED', 'RETRY')
    RETURNING task_id
    """
)


async def revoke_unstarted(conn: AsyncConnection, task_ids: list[str]) -> set[str]:
    """Mark the tasks that have not started as REVOKED; return those marked."""
    if not task_ids:
        return set()
    result = await conn.execute(_REVOKE, {"task_ids": task_ids})
    return {row[0] for row in result}


async def ping(conn: AsyncConnection) -> None:
    await conn.execute(select(func.now()))
