"""Report workflows (one report, a chain that emails it, a group or a chord) and reports."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse, StreamingResponse

from api import reporting
from api.correlation import RequestIdDep
from api.deps import CallerDep, IdempotencyKeyDep, ServicesDep, TenantDep
from api.routes.outcomes import respond
from api.schemas import (
    SUBMIT_RESPONSES,
    Accepted,
    ReportBatchRequest,
    ReportMetadata,
    ReportRequest,
    not_found,
)
from api.workflows import plans, values
from api.workflows.submit import submit

router = APIRouter(tags=["reports"])

NOT_FOUND = "report not found (a report exists once its step succeeded)"


@router.post(
    "/v1/reports",
    status_code=202,
    response_model=Accepted,
    responses=SUBMIT_RESPONSES,
)
async def create_report(
    body: ReportRequest,
    services: ServicesDep,
    caller: CallerDep,
    request_id: RequestIdDep,
    idempotency_key: IdempotencyKeyDep = None,
) -> JSONResponse:
    """Build one report; with ``deliver_to``, a chain that then emails it as an attachment.

    It counts against the tenant's reports per hour, its ``deliver_to`` against its
    recipients per day (429 past either); the email goes in the ``transactional`` lane,
    which the key must have (403 otherwise).
    """
    tenant = caller.tenant
    [generate] = reporting.generate_payloads([body], tenant)
    if body.deliver_to:
        email = reporting.delivery(body.deliver_to, [generate], tenant)
        plan = plans.sequence(services.celery, "report", [generate, email], request_id)
    else:
        plan = plans.single(services.celery, "report", generate, request_id)
    return respond(
        await submit(
            services,
            plan,
            caller=caller,
            request=body.model_dump(mode="json"),
            path="/v1/reports",
            idempotency_key=idempotency_key,
            request_id=request_id,
            lane_field=("body", "deliver_to"),
            report_ids=[str(generate.report_id)],
        )
    )


@router.post(
    "/v1/report-batches",
    status_code=202,
    response_model=Accepted,
    responses=SUBMIT_RESPONSES,
)
async def create_report_batch(
    body: ReportBatchRequest,
    services: ServicesDep,
    caller: CallerDep,
    request_id: RequestIdDep,
    idempotency_key: IdempotencyKeyDep = None,
) -> JSONResponse:
    """Build reports in parallel (a group); with ``deliver_to``, a chord whose callback
    emails one digest carrying every report once all of them succeeded.

    Quotas and lanes as for one report: each report counts against reports per hour.
    """
    tenant = caller.tenant
    payloads = reporting.generate_payloads(body.reports, tenant)
    then = reporting.delivery(body.deliver_to, payloads, tenant) if body.deliver_to else None
    plan = plans.parallel(
        services.celery, "report_batch", payloads, then=then, request_id=request_id
    )
    return respond(
        await submit(
            services,
            plan,
            caller=caller,
            request=body.model_dump(mode="json"),
            path="/v1/report-batches",
            idempotency_key=idempotency_key,
            request_id=request_id,
            lane_field=("body", "deliver_to"),
            report_ids=[str(payload.report_id) for payload in payloads],
        )
    )


@router.get(
    "/v1/reports/{report_id}", response_model=ReportMetadata, responses=not_found(NOT_FOUND)
)
async def get_report(report_id: str, services: ServicesDep, tenant: TenantDep) -> JSONResponse:
    """A stored report's metadata."""
    parsed = values.parse_id(report_id)
    if parsed is None:
        raise HTTPException(404, NOT_FOUND)
    report = await reporting.find(services.pool, parsed, tenant)
    if report is None:
        raise HTTPException(404, NOT_FOUND)
    return JSONResponse(report, headers={"ETag": f'"{report["sha256"]}"'})


@router.get(
    "/v1/reports/{report_id}/content",
    response_class=StreamingResponse,
    responses={
        200: {"description": "the artifact, with its content type"},
        **not_found(NOT_FOUND),
    },
)
async def get_report_content(
    report_id: str, services: ServicesDep, tenant: TenantDep
) -> StreamingResponse:
    """The report itself, with its content type and a download file name."""
    parsed = values.parse_id(report_id)
    if parsed is None:
        raise HTTPException(404, NOT_FOUND)
    report = await reporting.find(services.pool, parsed, tenant)
    if report is None:
        raise HTTPException(404, NOT_FOUND)
    return StreamingResponse(
        reporting.content(services.pool, parsed),
        media_type=report["content_type"],
        headers={
            "Content-Disposition": f'attachment; filename="{report["filename"]}"',
            "Content-Length": str(report["bytes"]),
            "ETag": f'"{report["sha256"]}"',
        },
    )
