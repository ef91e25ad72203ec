"""``POST /v1/emails``: send one email."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import ServicesDep, TenantDep
from api.schemas import Accepted, EmailRequest
from api.workflows import plans
from api.workflows.submit import accepted, submit
from contracts import SendEmail

router = APIRouter(tags=["emails"])


@router.post(
    "/v1/emails",
    status_code=202,
    response_model=Accepted,
    responses={413: {"description": "request body too large"}},
)
async def send_email(body: EmailRequest, services: ServicesDep, tenant: TenantDep) -> JSONResponse:
    """Accept an email for delivery; poll ``status_url`` for its workflow."""
    payload = SendEmail(**body.model_dump(), tenant=tenant)
    plan = plans.single(services.celery, "email", payload)
    await submit(services, plan, tenant=tenant, request=body.model_dump(mode="json"))
    return accepted(plan)
