"""``POST /v1/emails``: send one email."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.access import keys
from api.correlation import RequestIdDep
from api.deps import CallerDep, IdempotencyKeyDep, ServicesDep
from api.routes.outcomes import respond
from api.schemas import SUBMIT_RESPONSES, Accepted, EmailRequest
from api.services import Services
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
    caller: CallerDep,
    request_id: RequestIdDep,
    idempotency_key: IdempotencyKeyDep = None,
) -> JSONResponse:
    """Accept an email for delivery; poll ``status_url`` for its workflow.

    Its ``lane`` must be one the key may use (403 naming it otherwise), and its
    recipients (to, cc and bcc) must fit in the tenant's quota of recipients per day
    (429 naming the quota and when it resets otherwise).
    """
    return await accept(
        services, body, caller=caller, request_id=request_id, idempotency_key=idempotency_key
    )


async def accept(
    services: Services,
    body: EmailRequest,
    *,
    caller: keys.Caller,
    request_id: str,
    idempotency_key: str | None = None,
) -> JSONResponse:
    """The email's workflow, accepted (also for :mod:`api.routes.fast_paths`)."""
    # The body is validated already (and the signature validates the payload strictly
    # once more, as it goes on the wire): no third pass over the addresses here.
    payload = SendEmail.model_construct(**dict(body), attachments=[], tenant=caller.tenant)
    plan = plans.single(services.celery, "email", payload, request_id)
    return respond(
        await submit(
            services,
            plan,
            caller=caller,
            request=body.model_dump(mode="json"),
            path=PATH,
            idempotency_key=idempotency_key,
            request_id=request_id,
        )
    )
