"""Starting a scheduled run: one workflow per tick, never beside an unfinished run.

Starts of one schedule are serialised by a transaction-level advisory lock, so a tick
delivered twice at once is still seen as a duplicate, and a tick that arrives while the
schedule's previous run is unfinished is skipped (and logged) instead of piling up.
"""

from __future__ import annotations

from uuid import UUID

import structlog
from celery import Celery
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from api.intake import kinds
from api.tables import workflows
from api.workflows import service, store
from api.workflows.status import FINAL_WORKFLOW
from contracts import StartWorkflow, WorkflowStarted
from contracts.workflows import StartOutcome, workflow_id_for

log = structlog.get_logger(__name__)

#: First key of the per-schedule advisory lock (the second is a hash of the origin).
SCHEDULE_LOCK = 0x696E_7461  # "inta"


def origin_of(schedule: str) -> str:
    """The ``origin`` of a schedule's workflows, as the status document shows it."""
    return f"schedule:{schedule}"


async def _exists(conn: AsyncConnection, workflow_id: UUID) -> bool:
    found = await conn.scalar(select(workflows.c.id).where(workflows.c.id == workflow_id))
    return found is not None


async def _unfinished_run(conn: AsyncConnection, origin: str) -> UUID | None:
    """The id of a run of this origin that has not finished, judged on its live steps.

    ``finished_at`` is set by the tracker a moment after the last step ends; a run it has
    not caught up with yet is judged the way a status read would judge it.
    """
    records = (
        await conn.execute(
            select(*store.WORKFLOW_COLUMNS)
            .where(workflows.c.origin == origin, workflows.c.finished_at.is_(None))
            .order_by(workflows.c.created_at)
        )
    ).mappings()
    for record in list(records):
        state = await service.current_state(conn, record)
        if state.status not in FINAL_WORKFLOW:
            found: UUID = record["id"]
            return found
    return None


async def start(engine: AsyncEngine, app: Celery, payload: StartWorkflow) -> WorkflowStarted:
    """Store the tick's workflow and its outbox message, unless it exists or must wait.

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
    async with engine.begin() as conn:
        await conn.execute(select(func.pg_advisory_xact_lock(SCHEDULE_LOCK, func.hashtext(origin))))
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
        await store.create(conn, plan, tenant=payload.tenant, request=request, origin=origin)
    log.info("scheduled run started", kind=plan.kind, **context)
    return WorkflowStarted(workflow_id=workflow_id, outcome=StartOutcome.STARTED)
