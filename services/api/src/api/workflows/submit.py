"""Accepting a workflow: the workflow, its outbox message and the ``Idempotency-Key``
claim are committed together (one statement without a key, one transaction with one)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from fastapi import HTTPException
from fastapi.responses import JSONResponse

from api import db
from api.access import idempotency
from api.deps import Services
from api.workflows import store
from api.workflows.plans import Plan

log = structlog.get_logger(__name__)


async def submit(
    services: Services,
    plan: Plan,
    *,
    tenant: str,
    request: Mapping[str, Any],
    path: str,
    idempotency_key: str | None = None,
    report_ids: list[str] | None = None,
    origin: str = "api",
    request_id: str | None = None,
) -> JSONResponse:
    """Commit the workflow with its outbox message, wake the relay, answer 202.

    With an ``Idempotency-Key`` already used by this tenant, nothing is stored or sent:
    the same request is answered 200 with the first workflow, another one 409.
    """
    body = accepted_body(plan, report_ids)
    replay: idempotency.Replay | None = None
    if idempotency_key is None:
        await store.create(
            services.pool,
            plan,
            tenant=tenant,
            request=request,
            deadline=services.settings.deadline_of(plan.kind),
            origin=origin,
            request_id=request_id,
        )
    else:
        async with db.transaction(services.pool) as conn:
            # On a replay the claim inserts nothing, so committing stores nothing either.
            replay = await idempotency.claim(
                conn,
                tenant=tenant,
                key=idempotency_key,
                fingerprint=idempotency.request_hash(path, request),
                workflow_id=plan.workflow_id,
                response=body,
                at=store.now(),
            )
            if replay is None:
                await store.create(
                    conn,
                    plan,
                    tenant=tenant,
                    request=request,
                    deadline=services.settings.deadline_of(plan.kind),
                    origin=origin,
                    request_id=request_id,
                )
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
