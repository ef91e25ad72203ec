"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
)
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "a dependency or the outbox relay is down"}})
async def readyz(services: ServicesDep) -> JSONResponse:
    """The database and the broker are reachable, the outbox relay publishes and no
    message waits too long for it; 503 names what is not. Checked at most once a second
    (:mod:`api.readiness`)."""
    report = await services.readiness.report()
    if not report.ready:
        return JSONResponse(
            {"status": "unavailable", "down": report.down, "checks": report.checks},
            status_code=503,
        )
    return JSONResponse({"status": "ready", "checks": report.checks})
