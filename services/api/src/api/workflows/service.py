"""Reading a workflow's current document, and cancelling it."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import UTC
from typing import Any
from uuid import UUID

import anyio
import structlog
from celery import Celery
from celery.exceptions import OperationalError as BrokerUnreachable
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from api.db import reading
from api.workflows import document, store
from api.workflows.status import FINAL_WORKFLOW, Derived, derive

log = structlog.get_logger(__name__)


def stored_state(record: Mapping[Any, Any]) -> Derived:
    """The state the tracker last saved (complete for a finished workflow)."""
    return Derived(
        status=record["status"],
        steps=list(record["steps"]),
        finished_at=record["finished_at"],
        updated_at=record["updated_at"],
        result=record["result"],
        error=record["error"],
    )


async def current_state(conn: AsyncConnection, record: Mapping[Any, Any]) -> Derived:
    """A finished workflow as stored; an unfinished one merged with its live result rows."""
    if record["finished_at"] is not None:
        return stored_state(record)
    rows = await store.task_rows(conn, (step["task_id"] for step in record["steps"]))
    return derive(
        shape=record["shape"],
        stored_steps=record["steps"],
        rows=rows,
        created_at=record["created_at"],
        cancelled_at=record["cancelled_at"],
    )


async def current_documents(conn: AsyncConnection, records: list[Any]) -> list[dict[str, Any]]:
    """Documents for several workflows, reading all their live result rows in one query."""
    live = [r for r in records if r["finished_at"] is None]
    rows = await store.task_rows(conn, (s["task_id"] for r in live for s in r["steps"]))
    documents = []
    for record in records:
        if record["finished_at"] is not None:
            state = stored_state(record)
        else:
            state = derive(
                shape=record["shape"],
                stored_steps=record["steps"],
                rows=rows,
                created_at=record["created_at"],
                cancelled_at=record["cancelled_at"],
            )
        documents.append(document.build(record, state))
    return documents


async def read(engine: AsyncEngine, workflow_id: UUID, tenant: str) -> dict[str, Any] | None:
    """The workflow's status document, or ``None`` when the tenant has no such workflow."""
    async with reading(engine) as conn:
        record = await store.fetch(conn, workflow_id, tenant)
        if record is None:
            return None
        return document.build(record, await current_state(conn, record))


class CancelOutcome(enum.Enum):
    NOT_FOUND = "not_found"
    ALREADY_FINISHED = "already_finished"
    CANCELLED = "cancelled"


async def cancel(
    engine: AsyncEngine, celery_app: Celery, workflow_id: UUID, tenant: str
) -> tuple[CancelOutcome, dict[str, Any] | None]:
    """Revoke every step that has not started; the workflow becomes ``cancelled``.

    A step is first marked REVOKED in Celery's result table (unless a worker already
    started it), which every worker checks before running a task; the revoke broadcast
    then stops it sooner on workers that hold the message. Without a broker the
    broadcast is skipped: the REVOKED marks alone stop every step.
    """
    async with engine.begin() as conn:
        record = await store.fetch(conn, workflow_id, tenant, for_update=True)
        if record is None:
            return CancelOutcome.NOT_FOUND, None
        state = await current_state(conn, record)
        if state.status in FINAL_WORKFLOW:
            return CancelOutcome.ALREADY_FINISHED, document.build(record, state)
        waiting = [v["task_id"] for v in state.steps if v["status"] in ("queued", "retrying")]
        revoked = await store.revoke_unstarted(conn, waiting)
        at = store.now()
        steps = [
            {**step, "cancelled": True, "cancelled_at": at.astimezone(UTC).isoformat()}
            if step["task_id"] in revoked
            else dict(step)
            for step in record["steps"]
        ]
        await store.mark_cancelled(conn, workflow_id, steps, at)
    if revoked:
        try:
            await anyio.to_thread.run_sync(lambda: celery_app.control.revoke(sorted(revoked)))
        except (OSError, BrokerUnreachable) as exc:
            log.warning("revoke broadcast not sent; the REVOKED marks hold", error=str(exc))
    return CancelOutcome.CANCELLED, await read(engine, workflow_id, tenant)
