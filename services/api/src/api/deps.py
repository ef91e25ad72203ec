"""Dependencies shared by the routes, as ``Annotated`` aliases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import asyncpg
from celery import Celery
from fastapi import Depends, Header, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.access import keys
from api.access.idempotency import MAX_KEY_LENGTH
from api.access.ratelimit import RateLimiter
from api.config import Settings
from api.metrics import WorkflowMetrics
from api.workflows.relay import OutboxRelay
from api.workflows.watchers import Watchers


@dataclass
class Services:
    """What the app builds at start-up and the routes use."""

    settings: Settings
    #: Connections for requests.
    pool: asyncpg.Pool
    celery: Celery
    relay: OutboxRelay
    limiter: RateLimiter
    metrics: WorkflowMetrics
    keys: keys.KeyCache
    watchers: Watchers


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


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


async def get_caller(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> keys.Caller:
    """The key's holder; 401 without a valid key, 429 past the key's rate limit."""
    if credentials is None:
        raise _unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    caller = await keys.authenticate(services.pool, credentials.credentials, services.keys)
    if caller is None:
        raise _unauthorized("invalid or revoked API key")
    retry_after = services.limiter.check(str(caller.key_id))
    if retry_after is not None:
        raise HTTPException(429, rate_limited(services), headers={"Retry-After": str(retry_after)})
    return caller


def rate_limited(services: Services) -> str:
    """What a caller past its key's rate limit is told (429)."""
    return f"rate limit of {services.settings.rate_limit} exceeded for this key"


async def get_tenant(caller: Annotated[keys.Caller, Depends(get_caller)]) -> str:
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
