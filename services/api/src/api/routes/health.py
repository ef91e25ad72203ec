"""Liveness and readiness."""

from __future__ import annotations

import anyio
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import ServicesDep
from api.workflows import store

router = APIRouter(tags=["health"])

CHECK_TIMEOUT = 3


@router.get(
    "/healthz",
    responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
)
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "a dependency is down"}})
async def readyz(services: ServicesDep) -> JSONResponse:
    """The broker and the database are reachable; 503 names what is down."""
    checks: dict[str, str] = {}

    try:
        with anyio.fail_after(CHECK_TIMEOUT):
            await store.ping(services.pool)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"down: {type(exc).__name__}"

    def broker_ping() -> None:
        with services.celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=CHECK_TIMEOUT)

    try:
        with anyio.fail_after(CHECK_TIMEOUT + 1):
            await anyio.to_thread.run_sync(broker_ping, abandon_on_cancel=True)
        checks["broker"] = "ok"
    except Exception as exc:
        checks["broker"] = f"down: {type(exc).__name__}"

    down = sorted(name for name, state in checks.items() if state != "ok")
    if down:
        return JSONResponse(
            {"status": "unavailable", "down": down, "checks": checks}, status_code=503
        )
    return JSONResponse({"status": "ready", "checks": checks})
