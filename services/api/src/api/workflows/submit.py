"""Accepting a workflow: the workflow, its outbox message, its quota counting and the
``Idempotency-Key`` claim are committed together (one statement without a key, one
transaction with one). Before anything is stored, every email step's lane must be one
the caller's key may use (403 naming it otherwise)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg
import structlog
from fastapi import HTTPException
from fastapi.responses import JSONResponse

from api import db
from api.access import idempotency, keys, quotas
from api.deps import Services
from api.workflows import creation, values
from api.workflows.plans import Plan

log = structlog.get_logger(__name__)


async def submit(
    services: Services,
    plan: Plan,
    *,
    caller: keys.Caller,
    request: Mapping[str, Any],
    path: str,
    idempotency_key: str | None = None,
    report_ids: list[str] | None = None,
    origin: str = "api",
    request_id: str | None = None,
    lane_field: tuple[str, ...] = ("body", "lane"),
) -> JSONResponse:
    """Commit the workflow with its outbox message, wake the relay, answer 202.

    With an ``Idempotency-Key`` already used by this tenant, nothing is stored, counted
    or sent: the same request is answered 200 with the first workflow, another one 409.
    An email step in a lane the key lacks answers 403 (``lane_field`` is where the
    request chose that lane); a submission past one of the tenant's quotas 429.
    """
    tenant = caller.tenant
    for lane in plan.demand.lanes:
        if not caller.may_use(lane):
            return lane_refused(lane, lane_field)
    body = accepted_body(plan, report_ids)
    settings = services.settings
    charge = quotas.Charge(
        recipients=plan.demand.recipients,
        reports=plan.demand.reports,
        default_recipients_per_day=settings.quota_recipients_per_day,
        default_reports_per_hour=settings.quota_reports_per_hour,
    )
    replay: idempotency.Replay | None = None
    try:
        if idempotency_key is None:
            await creation.create(
                services.pool,
                plan,
                tenant=tenant,
                request=request,
                deadline=settings.deadline_of(plan.kind),
                origin=origin,
                request_id=request_id,
                charge=charge,
            )
        else:
            async with db.transaction(services.pool) as conn:
                # On a replay the claim inserts nothing, so committing stores nothing
                # either, and nothing is counted.
                replay = await idempotency.claim(
                    conn,
                    tenant=tenant,
                    key=idempotency_key,
                    fingerprint=idempotency.request_hash(path, request),
                    workflow_id=plan.workflow_id,
                    response=body,
                    at=values.now(),
                )
                if replay is None:
                    await creation.create(
                        conn,
                        plan,
                        tenant=tenant,
                        request=request,
                        deadline=settings.deadline_of(plan.kind),
                        origin=origin,
                        request_id=request_id,
                        charge=charge,
                    )
    except asyncpg.RaiseError as error:
        refused = quotas.exceeded(error)
        if refused is None:
            raise
        return quota_refused(refused, tenant)
    if replay is not None:
        return replayed(replay)
    services.metrics.accepted(plan.kind, origin)
    log.info(
        "workflow accepted",
        workflow_id=str(plan.workflow_id),
        kind=plan.kind,
        shape=plan.shape,
        steps=[step["task_id"] for step in plan.steps],
    )
    services.relay.notify()
    return JSONResponse(body, status_code=202, headers={"Location": body["status_url"]})


def lane_refused(lane: str, field: tuple[str, ...]) -> JSONResponse:
    """403: the key may not send email in ``lane`` (:class:`api.schemas.LaneRefused`)."""
    return JSONResponse(
        {
            "detail": f"this API key may not send email in lane '{lane}'",
            "lane": lane,
            "loc": list(field),
        },
        status_code=403,
    )


def quota_refused(refused: quotas.Exceeded, tenant: str) -> JSONResponse:
    """429: the tenant's quota, its use, what was asked and when it resets, and
    ``Retry-After`` until then (:class:`api.schemas.TooManyRequests`)."""
    log.info(
        "quota exceeded",
        tenant=tenant,
        quota=refused.quota,
        limit=refused.limit,
        used=refused.used,
        requested=refused.requested,
    )
    return JSONResponse(
        refused.body(),
        status_code=429,
        headers={"Retry-After": str(refused.retry_after(values.now()))},
    )


def replayed(replay: idempotency.Replay) -> JSONResponse:
    """The first answer again (200), or 409 when the key came with another request."""
    if not replay.same_request:
        raise HTTPException(
            409,
            "Idempotency-Key was already used with a different request "
            f"(workflow {replay.response['workflow_id']})",
        )
    return JSONResponse(
        replay.response,
        status_code=200,
        headers={"Location": replay.response["status_url"], "Idempotent-Replayed": "true"},
    )


def status_url(plan: Plan) -> str:
    return f"/v1/workflows/{plan.workflow_id}"


def accepted_body(plan: Plan, report_ids: list[str] | None = None) -> dict[str, Any]:
    """The workflow id, where to poll it, and the reports it will store (if any)."""
    body: dict[str, Any] = {"workflow_id": str(plan.workflow_id), "status_url": status_url(plan)}
    if report_ids is not None:
        body["report_ids"] = report_ids
    return body
