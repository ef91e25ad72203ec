"""Dependencies shared by the routes, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.access import keys
from api.access.gate import Refusal, client_address
from api.access.held import TooManyHeld
from api.access.idempotency import MAX_KEY_LENGTH
from api.services import Services


# The dependencies that do no I/O are ``async def`` all the same: FastAPI runs a plain
# ``def`` dependency in its thread pool, a thread hop per request for nothing.
async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]

bearer = HTTPBearer(
    auto_error=False,
    description="An API key made with `api keys create --tenant <tenant>`.",
)


async def get_caller(
    request: Request,
    services: ServicesDep,
    # Read from the header itself; declared for the OpenAPI description's security scheme.
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> keys.Caller:
    """The key's holder; 401 without a valid key, 429 past the key's rate limit (or, with
    no valid key, past the client address's unauthenticated budget)."""
    caller = await services.gate.admit(
        request.headers.get("authorization"), client_address(request.scope)
    )
    if isinstance(caller, Refusal):
        raise HTTPException(caller.status, caller.detail, headers=caller.headers)
    retry_after = services.limiter.check(str(caller.key_id))
    if retry_after is not None:
        raise HTTPException(429, rate_limited(services), headers={"Retry-After": str(retry_after)})
    return caller


def rate_limited(services: Services) -> str:
    """What a caller past its key's rate limit is told (429)."""
    return f"rate limit of {services.settings.rate_limit} exceeded for this key"


#: Seconds a caller holding its cap of long polls is asked to wait (one of them may end).
HELD_RETRY_AFTER = "5"


def held_refusal(refused: TooManyHeld) -> tuple[int, str, dict[str, str]]:
    """What a caller past its cap of held requests is told (429)."""
    return (
        429,
        f"this key already holds {refused.cap} long polls, its cap (LONG_POLLS_PER_KEY);"
        " retry when one has ended",
        {"Retry-After": HELD_RETRY_AFTER},
    )


CallerDep = Annotated[keys.Caller, Depends(get_caller)]


async def get_tenant(caller: CallerDep) -> str:
    return caller.tenant


TenantDep = Annotated[str, Depends(get_tenant)]
IdempotencyKeyDep = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        description="Repeat a POST safely: the same key and body answer the first workflow "
        "again (200); the same key with another body is refused (409). Kept 24 hours.",
    ),
]
