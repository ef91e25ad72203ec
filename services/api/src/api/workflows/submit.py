"""Accepting a workflow: one transaction for the workflow and its outbox message."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi.responses import JSONResponse

from api.deps import Services
from api.workflows import store
from api.workflows.plans import Plan


async def submit(
    services: Services,
    plan: Plan,
    *,
    tenant: str,
    request: Mapping[str, Any],
    origin: str = "api",
    request_id: str | None = None,
) -> None:
    """Commit the workflow with its outbox message, then wake the relay to publish it."""
    async with services.engine.begin() as conn:
        await store.create(
            conn, plan, tenant=tenant, request=request, origin=origin, request_id=request_id
        )
    services.relay.notify()


def status_url(plan: Plan) -> str:
    return f"/v1/workflows/{plan.workflow_id}"


def accepted(plan: Plan, report_ids: list[str] | None = None) -> JSONResponse:
    """202 with the workflow id, where to poll it, and a ``Location`` header."""
    url = status_url(plan)
    body: dict[str, object] = {"workflow_id": str(plan.workflow_id), "status_url": url}
    if report_ids is not None:
        body["report_ids"] = report_ids
    return JSONResponse(
        body,
        status_code=202,
        headers={"Location": url},
    )
