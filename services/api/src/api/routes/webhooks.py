"""Webhook endpoints of the caller's tenant, and the attempts made to deliver to them."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, HTTPException, Query, Response
from fastapi.responses import JSONResponse

from api.deps import ServicesDep, TenantDep
from api.schemas import error, not_found
from api.webhooks import addresses, deliveries, endpoints
from api.webhooks.schemas import (
    CreatedWebhook,
    WebhookAttemptPage,
    WebhookList,
    WebhookRequest,
)
from api.workflows import listing, values

router = APIRouter(tags=["webhooks"])

NOT_FOUND = "webhook endpoint not found"
#: Seconds the registration waits for the URL's host to resolve.
RESOLVE_TIMEOUT = 5.0


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _endpoint(endpoint: endpoints.Endpoint) -> dict[str, Any]:
    return {
        "id": str(endpoint.id),
        "url": endpoint.url,
        "events": endpoint.events,
        "created_at": _iso(endpoint.created_at),
    }


def _refused_url(reason: str) -> HTTPException:
    return HTTPException(
        422, [{"loc": ["body", "url"], "msg": f"url {reason}", "type": "value_error"}]
    )


async def _check(url: str, *, allow_private: bool) -> None:
    """The URL's host resolved and its addresses checked (422 naming ``url`` if not)."""
    resolve = partial(addresses.resolve, url, allow_private=allow_private)
    with anyio.move_on_after(RESOLVE_TIMEOUT):
        try:
            await anyio.to_thread.run_sync(resolve, abandon_on_cancel=True)
        except addresses.UrlRefused as refused:
            raise _refused_url(str(refused)) from None
        return
    raise _refused_url(f"host did not resolve within {RESOLVE_TIMEOUT:g} s")


@router.post(
    "/v1/webhooks",
    status_code=201,
    response_model=CreatedWebhook,
    responses={
        409: error(
            f"the tenant holds {endpoints.MAX_ENDPOINTS} endpoints already",
            f"this tenant already has {endpoints.MAX_ENDPOINTS} webhook endpoints; delete one",
        )
    },
)
async def create_webhook(
    body: WebhookRequest, services: ServicesDep, tenant: TenantDep
) -> JSONResponse:
    """Register an endpoint: each of the tenant's workflows that finishes from now on is
    POSTed to it, signed with the ``secret`` answered here (and nowhere else)."""
    await _check(body.url, allow_private=services.settings.webhook_allow_private)
    created = await endpoints.create(services.pool, tenant=tenant, url=body.url, events=body.events)
    if created is None:
        raise HTTPException(
            409,
            f"this tenant already has {endpoints.MAX_ENDPOINTS} webhook endpoints; delete one",
        )
    endpoint, secret = created
    return JSONResponse({**_endpoint(endpoint), "secret": secret}, status_code=201)


@router.get("/v1/webhooks", response_model=WebhookList)
async def list_webhooks(services: ServicesDep, tenant: TenantDep) -> JSONResponse:
    """The tenant's endpoints, newest first (without their secrets)."""
    listed = await endpoints.listing(services.pool, tenant=tenant)
    return JSONResponse({"items": [_endpoint(endpoint) for endpoint in listed]})


@router.delete(
    "/v1/webhooks/{webhook_id}",
    status_code=204,
    response_class=Response,
    responses=not_found(NOT_FOUND),
)
async def delete_webhook(webhook_id: str, services: ServicesDep, tenant: TenantDep) -> Response:
    """Delete the endpoint: nothing more is sent to it, retries of earlier events included."""
    parsed = values.parse_id(webhook_id)
    if parsed is None or not await endpoints.delete(services.pool, parsed, tenant=tenant):
        raise HTTPException(404, NOT_FOUND)
    return Response(status_code=204)


@router.get(
    "/v1/webhooks/{webhook_id}/deliveries",
    response_model=WebhookAttemptPage,
    responses=not_found(NOT_FOUND),
)
async def list_webhook_deliveries(
    webhook_id: str,
    services: ServicesDep,
    tenant: TenantDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> JSONResponse:
    """Every attempt to deliver to the endpoint, newest first; pass ``next_cursor`` back
    as ``cursor`` for the next page."""
    parsed = values.parse_id(webhook_id)
    if parsed is None or not await endpoints.exists(services.pool, parsed, tenant=tenant):
        raise HTTPException(404, NOT_FOUND)
    after = None
    if cursor is not None:
        try:
            after = listing.Cursor.decode(cursor)
        except ValueError:
            raise HTTPException(
                422,
                [{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "value_error"}],
            ) from None
    attempts, following = await deliveries.page(services.pool, parsed, limit=limit, after=after)
    return JSONResponse(
        {
            "items": [_attempt(attempt) for attempt in attempts],
            "next_cursor": following.encode() if following else None,
        }
    )


def _attempt(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "delivery_id": str(row["delivery_id"]),
        "webhook_id": row["message_id"],
        "workflow_id": str(row["workflow_id"]),
        "event": row["event"],
        "attempt": row["attempt"],
        "attempted_at": _iso(row["attempted_at"]),
        "duration_ms": row["duration_ms"],
        "status_code": row["status_code"],
        "error": row["error"],
        "outcome": row["outcome"],
        "delivery_status": row["delivery_status"],
        "next_attempt_at": _iso(row["next_attempt_at"]),
    }
