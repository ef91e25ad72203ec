"""Workflow status: one document per workflow, long polling, listing, cancelling."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Header, HTTPException, Query, Response
from fastapi.responses import JSONResponse

from api.deps import ServicesDep, TenantDep
from api.schemas import WorkflowDocument, WorkflowPage, WorkflowStatus
from api.workflows import service, store
from api.workflows.document import etag
from api.workflows.status import FINAL_WORKFLOW

router = APIRouter(tags=["workflows"])

MAX_WAIT = 30.0
LONG_POLL_INTERVAL = 0.2
#: Suggested seconds between polls of an unfinished workflow.
RETRY_AFTER = "1"

NOT_FOUND = "workflow not found"


def _matches(if_none_match: str | None, tag: str) -> bool:
    if if_none_match is None:
        return False
    candidates = {c.strip().removeprefix("W/") for c in if_none_match.split(",")}
    return "*" in candidates or tag in candidates


def _headers(document: dict[str, Any], tag: str) -> dict[str, str]:
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    if document["status"] not in FINAL_WORKFLOW or document["finished_at"] is None:
        headers["Retry-After"] = RETRY_AFTER
    return headers


@router.get(
    "/v1/workflows/{workflow_id}",
    response_model=WorkflowDocument,
    responses={304: {"description": "unchanged since the given ETag"}, 404: {}},
)
async def get_workflow(
    workflow_id: str,
    services: ServicesDep,
    tenant: TenantDep,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT, description="long poll, seconds")] = 0,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The workflow's status document.

    With ``If-None-Match`` naming its current ETag the answer is 304; add ``wait=N`` to
    hold the request up to N seconds until the document changes.
    """
    parsed = store.parse_id(workflow_id)
    if parsed is None:
        raise HTTPException(404, NOT_FOUND)
    deadline = anyio.current_time() + wait
    while True:
        document = await service.read(services.engine, parsed, tenant)
        if document is None:
            raise HTTPException(404, NOT_FOUND)
        tag = etag(document)
        if not _matches(if_none_match, tag):
            return JSONResponse(document, headers=_headers(document, tag))
        remaining = deadline - anyio.current_time()
        if remaining <= 0:
            return Response(status_code=304, headers=_headers(document, tag))
        await anyio.sleep(min(LONG_POLL_INTERVAL, remaining))


@router.get("/v1/workflows", response_model=WorkflowPage)
async def list_workflows(
    services: ServicesDep,
    tenant: TenantDep,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    status: WorkflowStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> JSONResponse:
    """Workflows newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""
    after = None
    if cursor is not None:
        try:
            after = store.Cursor.decode(cursor)
        except ValueError:
            raise HTTPException(
                422,
                [{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "value_error"}],
            ) from None
    async with services.engine.connect() as conn:
        records, next_cursor = await store.page(
            conn, tenant=tenant, kind=kind, status=status, limit=limit, after=after
        )
        items = await service.current_documents(conn, records)
    return JSONResponse(
        {"items": items, "next_cursor": next_cursor.encode() if next_cursor else None}
    )


@router.post(
    "/v1/workflows/{workflow_id}/cancel",
    status_code=202,
    response_model=WorkflowDocument,
    responses={404: {}, 409: {"description": "the workflow had already finished"}},
)
async def cancel_workflow(
    workflow_id: str, services: ServicesDep, tenant: TenantDep
) -> JSONResponse:
    """Revoke every step not yet started; the workflow becomes ``cancelled``."""
    parsed = store.parse_id(workflow_id)
    if parsed is None:
        raise HTTPException(404, NOT_FOUND)
    outcome, document = await service.cancel(services.engine, services.celery, parsed, tenant)
    if outcome is service.CancelOutcome.NOT_FOUND or document is None:
        raise HTTPException(404, NOT_FOUND)
    if outcome is service.CancelOutcome.ALREADY_FINISHED:
        return JSONResponse(
            {"detail": f"workflow already {document['status']}", "workflow": document},
            status_code=409,
        )
    return JSONResponse(document, status_code=202, headers={"ETag": etag(document)})
