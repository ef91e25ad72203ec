"""A submission's outcome (:mod:`api.workflows.submit`) as the HTTP answer it gets: its
status, body and headers, the same from the documented routes and the fast path."""

from __future__ import annotations

from fastapi import HTTPException
from fastapi.responses import JSONResponse

from api.workflows.submit import (
    Accepted,
    Conflict,
    LaneRefused,
    Outcome,
    QuotaExceeded,
    Replayed,
)


def respond(outcome: Outcome) -> JSONResponse:
    """202 with ``Location``; 200 replayed; 403 naming the lane (:class:`api.schemas.
    LaneRefused`); 429 with ``Retry-After`` (:class:`api.schemas.TooManyRequests`); a
    409 is raised, for FastAPI's own error body."""
    match outcome:
        case Accepted(body):
            return JSONResponse(body, status_code=202, headers={"Location": body["status_url"]})
        case Replayed(body):
            return JSONResponse(
                body,
                status_code=200,
                headers={"Location": body["status_url"], "Idempotent-Replayed": "true"},
            )
        case Conflict(workflow_id):
            raise HTTPException(
                409,
                "Idempotency-Key was already used with a different request"
                f" (workflow {workflow_id})",
            )
        case LaneRefused(lane, field):
            return JSONResponse(
                {
                    "detail": f"this API key may not send email in lane '{lane}'",
                    "lane": lane,
                    "loc": list(field),
                },
                status_code=403,
            )
        case QuotaExceeded(exceeded, retry_after):
            return JSONResponse(
                exceeded.body(),
                status_code=429,
                headers={"Retry-After": str(retry_after)},
            )
