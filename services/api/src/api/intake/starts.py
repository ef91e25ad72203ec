"""Starting a scheduled run: one workflow per tick, never beside an unfinished run.

Starts of one schedule are serialised by a transaction-level advisory lock, so a tick
delivered twice at once is still seen as a duplicate, and a tick that arrives while the
schedule's previous run is unfinished is skipped (and logged) instead of piling up.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import asyncpg
import structlog
from celery import Celery

from api.db import Connection
from api.intake import kinds
from api.workflows import creation, service, workflow_rows
from api.workflows.status import FINAL_WORKFLOW
from contracts import StartWorkflow, WorkflowStarted
from contracts.workflows import StartOutcome, workflow_id_for

log = structlog.get_logger(__name__)

#: First key of the per-schedule advisory lock (the second is a hash of the origin).
SCHEDULE_LOCK = 0x696E_7461  # "inta"


def origin_of(schedule: str) -> str:
    """The ``origin`` of a schedule's workflows, as the status document shows it."""
    return f"schedule:{schedule}"


async def _exists(conn: Connection, workflow_id: UUID) -> bool:
    found = await conn.fetchval("SELECT 1 FROM api.workflows WHERE id = $1", workflow_id)
    return found is not None


async def _unfinished_run(conn: Connection, origin: str) -> UUID | None:
    """The id of a run of this origin that has not finished, judged on its live steps.

    ``finished_at`` is stored by the status updater a moment after the last step ends; a
    run it has not caught up with yet is judged on its result rows, as it will be.
    """
    records = await conn.fetch(
        f"SELECT {workflow_rows.RECORD_COLUMNS} FROM api.workflows"
        " WHERE origin = $1 AND finished_at IS NULL ORDER BY created_at",
        origin,
    )
    for record in records:
        state = await service.current_state(conn, record)
        if state.status not in FINAL_WORKFLOW:
            found: UUID = record["id"]
            return found
    return None


async def start(
    pool: asyncpg.Pool, app: Celery, payload: StartWorkflow, *, deadline: timedelta
) -> WorkflowStarted:
    """Store the tick's workflow and its outbox message, unless it exists or must wait.

    A run that outlives ``deadline`` fails (:mod:`api.workflows.deadlines`), which frees
    the schedule: a failed run is finished.

    Raises :class:`kinds.InvalidRequest` when the request is not one its kind accepts.
    """
    workflow_id = workflow_id_for(payload.schedule, payload.tick)
    origin = origin_of(payload.schedule)
    context = {
        "schedule": payload.schedule,
        "tick": payload.tick.isoformat(),
        "workflow_id": str(workflow_id),
    }
    plan, request = kinds.plan_for(
        app, payload.kind, payload.request, tenant=payload.tenant, workflow_id=workflow_id
    )
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", SCHEDULE_LOCK, origin)
        if await _exists(conn, workflow_id):
            log.info("scheduled run already started", **context)
            return WorkflowStarted(workflow_id=workflow_id, outcome=StartOutcome.DUPLICATE)
        unfinished = await _unfinished_run(conn, origin)
        if unfinished is not None:
            log.warning(
                "scheduled run skipped: the previous run is unfinished",
                unfinished=str(unfinished),
                **context,
            )
            return WorkflowStarted(
                workflow_id=workflow_id, outcome=StartOutcome.SKIPPED, unfinished=unfinished
            )
        await creation.create(
            conn,
            plan,
            tenant=payload.tenant,
            request=request,
            deadline=deadline,
            origin=origin,
            notify_relay=True,
        )
    log.info("scheduled run started", kind=plan.kind, **context)
    return WorkflowStarted(workflow_id=workflow_id, outcome=StartOutcome.STARTED)
