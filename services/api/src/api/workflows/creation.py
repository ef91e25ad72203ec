"""Storing an accepted workflow: its row (with its first document), its outbox message
and its quota counting, in one statement."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from api.access import quotas
from api.db import Executor
from api.workflows import document
from api.workflows.notifications import OUTBOX_CHANNEL
from api.workflows.plans import Plan
from api.workflows.values import dumps, now


def _create_sql(notify: bool, charge: bool) -> str:
    # One statement, so one round trip and one implicit transaction: the workflow, its
    # outbox message and its quota counting are committed together or not at all. The
    # outbox row is selected from the charge, which is so evaluated (an unreferenced
    # plain CTE would not be) and which fails the whole statement past a quota. The
    # status column is read from the document itself, so the listing's filter on it and
    # the documents it shows cannot disagree.
    returning = f" RETURNING pg_notify('{OUTBOX_CHANNEL}', '')" if notify else ""
    charged = (
        ", charged AS (SELECT api.charge_quotas($2, $14, $15, $7, $16, $17) AS ok)"
        if charge
        else ""
    )
    return (
        "WITH workflow AS ("
        " INSERT INTO api.workflows (id, tenant, kind, shape, origin, request_id, status,"
        " created_at, updated_at, request, steps, document, etag, deadline_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $10::json->>'status', $7, $7, $8::jsonb, $9::jsonb,"
        " $10::json, $11,"
        f" $13)){charged}"
        " INSERT INTO api.outbox (workflow_id, message, created_at)"
        + (" SELECT $1, $12::jsonb, $7 FROM charged" if charge else " VALUES ($1, $12::jsonb, $7)")
        + returning
    )


_CREATE = {
    (notify, charge): _create_sql(notify, charge)
    for notify in (False, True)
    for charge in (False, True)
}


async def create(
    executor: Executor,
    plan: Plan,
    *,
    tenant: str,
    request: Mapping[str, Any],
    deadline: timedelta,
    origin: str = "api",
    request_id: str | None = None,
    notify_relay: bool = False,
    charge: quotas.Charge | None = None,
) -> datetime:
    """Store the workflow (its first document included) and its outbox message.

    With ``charge``, the same statement counts it against its tenant's quotas: past one
    it fails with the ``asyncpg.RaiseError`` that :func:`api.access.quotas.exceeded`
    reads, and nothing is stored.

    Past ``deadline`` from now, the status leader fails it if it has not finished
    (:mod:`api.workflows.deadlines`). ``notify_relay`` tells the API's relays through
    PostgreSQL that a message waits: a process without a relay of its own (the intake
    worker) sets it.
    """
    created_at = now()
    first = document.initial(plan, created_at=created_at, origin=origin, request_id=request_id)
    text = document.serialize(first)
    charging = (
        ()
        if charge is None
        else (
            charge.recipients,
            charge.reports,
            charge.default_recipients_per_day,
            charge.default_reports_per_hour,
        )
    )
    await executor.execute(
        _CREATE[notify_relay, charge is not None],
        plan.workflow_id,
        tenant,
        plan.kind,
        plan.shape,
        origin,
        request_id,
        created_at,
        dumps(dict(request)),
        dumps([step.stored() for step in plan.steps]),
        text,
        document.etag_of(text),
        dumps(plan.canvas),
        created_at + deadline,
        *charging,
    )
    return created_at
