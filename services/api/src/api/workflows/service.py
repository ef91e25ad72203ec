"""Cancelling a workflow, and judging one on its live result rows."""

from __future__ import annotations

import enum
import json
from dataclasses import replace
from datetime import UTC
from typing import Any
from uuid import UUID

import anyio
import asyncpg
from celery import Celery

from api.db import Connection, Row
from api.workflows import task_results, values, workflow_rows
from api.workflows.failing import broadcast_revoke
from api.workflows.refresh import render, state_of
from api.workflows.status import FINAL_WORKFLOW, Derived


def stored_state(record: Row) -> Derived:
    """The state last stored (complete for a finished workflow)."""
    return Derived(
        status=record["status"],
        steps=workflow_rows.stored_views(record),
        finished_at=record["finished_at"],
        updated_at=record["updated_at"],
        result=values.loads(record["result"]),
        error=values.loads(record["error"]),
    )


async def current_state(conn: Connection, record: Row) -> Derived:
    """A finished workflow as stored; an unfinished one derived from its result rows now
    (what the status updater is about to store, if it has not yet)."""
    if record["finished_at"] is not None:
        return stored_state(record)
    rows = await task_results.task_rows(
        conn, (step.task_id for step in workflow_rows.stored_steps(record))
    )
    return state_of(record, rows)


class CancelOutcome(enum.Enum):
    NOT_FOUND = "not_found"
    ALREADY_FINISHED = "already_finished"
    CANCELLED = "cancelled"


async def cancel(
    pool: asyncpg.Pool, celery_app: Celery, workflow_id: UUID, tenant: str
) -> tuple[CancelOutcome, dict[str, Any] | None]:
    """Revoke every step that has not started; the workflow becomes ``cancelled``.

    A step is first marked REVOKED in Celery's result table (unless a worker already
    started it), which every worker checks before running a task; the revoke broadcast
    then stops it sooner on workers that hold the message. Without a broker the
    broadcast is skipped: the REVOKED marks alone stop every step. The cancelled
    document is stored before this returns.
    """
    async with pool.acquire() as conn, conn.transaction():
        found = await workflow_rows.records(conn, [workflow_id], tenant=tenant, for_update=True)
        if not found:
            return CancelOutcome.NOT_FOUND, None
        [record] = found
        if record["finished_at"] is not None:
            stored = await workflow_rows.read(conn, workflow_id, tenant)
            assert stored is not None
            return CancelOutcome.ALREADY_FINISHED, json.loads(stored.text)
        steps = workflow_rows.stored_steps(record)
        task_ids = [step.task_id for step in steps]
        state = state_of(record, await task_results.task_rows(conn, task_ids))
        if state.status in FINAL_WORKFLOW:
            return CancelOutcome.ALREADY_FINISHED, json.loads(render(record, state).text)
        waiting = [v.task_id for v in state.steps if v.status in ("queued", "retrying")]
        revoked = await task_results.revoke_unstarted(conn, waiting, workflow_id)
        at = values.now()
        steps = [
            replace(step, cancelled=True, cancelled_at=at.astimezone(UTC).isoformat())
            if step.task_id in revoked
            else step
            for step in steps
        ]
        await workflow_rows.mark_cancelled(conn, workflow_id, steps, at)
        cancelled = render(
            record,
            state_of(
                record, await task_results.task_rows(conn, task_ids), steps=steps, cancelled_at=at
            ),
        )
        await workflow_rows.save(conn, [cancelled])
    if revoked:
        await anyio.to_thread.run_sync(broadcast_revoke, celery_app, sorted(revoked))
    result: dict[str, Any] = json.loads(cancelled.text)
    return CancelOutcome.CANCELLED, result
