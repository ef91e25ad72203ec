"""``POST /v1/emails``: send one email."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.correlation import RequestIdDep
from api.deps import IdempotencyKeyDep, Services, ServicesDep, TenantDep
from api.schemas import SUBMIT_RESPONSES, Accepted, EmailRequest
from api.workflows import plans
from api.workflows.submit import submit
from contracts import SendEmail

router = APIRouter(tags=["emails"])


PATH = "/v1/emails"


@router.post(
    PATH,
    status_code=202,
    response_model=Accepted,
    responses=SUBMIT_RESPONSES,
)
async def send_email(
    body: EmailRequest,
    services: ServicesDep,
    tenant: TenantDep,
    request_id: RequestIdDep,
    idempotency_key: IdempotencyKeyDep = None,
) -> JSONResponse:
    """Accept an email for delivery; poll ``status_url`` for its workflow."""
    return await accept(
        services, body, tenant=tenant, request_id=request_id, idempotency_key=idempotency_key
    )


async def accept(
    services: Services,
    body: EmailRequest,
    *,
    tenant: str,
    request_id: str,
    idempotency_key: str | None = None,
) -> JSONResponse:
    """The email's workflow, accepted (also for :mod:`api.routes.fast_paths`)."""
    # The body is validated already (and the signature validates the payload strictly
    # once more, as it goes on the wire): no third pass over the addresses here.
    payload = SendEmail.model_construct(**dict(body), attachments=[], tenant=tenant)
    plan = plans.single(services.celery, "email", payload, request_id)
    return await submit(
        services,
        plan,
        tenant=tenant,
        request=body.model_dump(mode="json"),
        path=PATH,
        idempotency_key=idempotency_key,
        request_id=request_id,
    )
