"""Workflow status: one document per workflow, long polling, listing, cancelling."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import structlog
from fastapi import APIRouter, Header, HTTPException, Query, Response
from fastapi.responses import JSONResponse

from api.access.held import TooManyHeld
from api.deps import CallerDep, ServicesDep, TenantDep, held_refusal
from api.schemas import (
    AlreadyFinished,
    WorkflowDocument,
    WorkflowPage,
    WorkflowStatus,
    not_found,
)
from api.workflows import listing, reading, service, values
from api.workflows.document import etag

log = structlog.get_logger(__name__)

router = APIRouter(tags=["workflows"])

NOT_FOUND = reading.NOT_FOUND


@router.get(
    "/v1/workflows/{workflow_id}",
    response_model=WorkflowDocument,
    responses={
        304: {"description": "unchanged since the given ETag"},
        **not_found(reading.NOT_FOUND),
    },
)
async def get_workflow(
    workflow_id: str,
    services: ServicesDep,
    caller: CallerDep,
    wait: Annotated[float, Query(ge=0, le=reading.MAX_WAIT, description="long poll, seconds")] = 0,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The workflow's status document.

    With ``If-None-Match`` naming its current ETag the answer is 304; add ``wait=N`` to
    hold the request up to N seconds until the document changes. A held request waits
    for this process to be told of a change (no database query while it waits), then
    reads the document once. One key holds at most ``LONG_POLLS_PER_KEY`` such requests
    at once (429 past it).
    """
    parsed = values.parse_id(workflow_id)
    answer = None
    if parsed is not None:
        try:
            answer = await reading.answer(
                services.pool,
                services.watchers,
                parsed,
                caller,
                wait=wait,
                if_none_match=if_none_match,
                cap=services.settings.long_polls_per_key,
            )
        except TooManyHeld as refused:
            status, detail, headers = held_refusal(refused)
            raise HTTPException(status, detail, headers=headers) from None
    if answer is None:
        raise HTTPException(404, NOT_FOUND)
    if answer.body is None:
        return Response(status_code=answer.status, headers=answer.headers)
    return Response(answer.body, media_type="application/json", headers=answer.headers)


@router.get("/v1/workflows", response_model=WorkflowPage)
async def list_workflows(
    services: ServicesDep,
    tenant: TenantDep,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    status: WorkflowStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """Workflows newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""
    after = None
    if cursor is not None:
        try:
            after = listing.Cursor.decode(cursor)
        except ValueError:
            raise HTTPException(
                422,
                [{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "value_error"}],
            ) from None
    documents, next_cursor = await listing.page(
        services.pool, tenant=tenant, kind=kind, status=status, limit=limit, after=after
    )
    following = json.dumps(next_cursor.encode() if next_cursor else None)
    # The stored documents are JSON already: joined, not decoded and encoded again.
    body = f'{{"items":[{",".join(documents)}],"next_cursor":{following}}}'
    return Response(body, media_type="application/json")


@router.post(
    "/v1/workflows/{workflow_id}/cancel",
    status_code=202,
    response_model=WorkflowDocument,
    responses={
        **not_found(reading.NOT_FOUND),
        409: {"description": "the workflow had already finished", "model": AlreadyFinished},
    },
)
async def cancel_workflow(
    workflow_id: str, services: ServicesDep, tenant: TenantDep
) -> JSONResponse:
    """Revoke every step not yet started; the workflow becomes ``cancelled``."""
    parsed = values.parse_id(workflow_id)
    if parsed is None:
        raise HTTPException(404, NOT_FOUND)
    outcome, document = await service.cancel(services.pool, services.celery, parsed, tenant)
    if outcome is service.CancelOutcome.NOT_FOUND or document is None:
        raise HTTPException(404, NOT_FOUND)
    if outcome is service.CancelOutcome.ALREADY_FINISHED:
        return JSONResponse(
            {"detail": f"workflow already {document['status']}", "workflow": document},
            status_code=409,
        )
    if document["finished_at"] is not None:
        # Nothing is left to run: the status updater will not see this one finish.
        log.info(
            "workflow finished",
            workflow_id=document["id"],
            request_id=document["request_id"],
            kind=document["kind"],
            status=document["status"],
        )
        services.metrics.done(
            document["kind"],
            document["status"],
            datetime.fromisoformat(document["created_at"]),
            datetime.fromisoformat(document["finished_at"]),
        )
    return JSONResponse(document, status_code=202, headers={"ETag": etag(document)})
