"""The FastAPI application and what it runs beside the routes (relay, tracker)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import anyio
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from api import unavailable
from api.access import idempotency
from api.access.ratelimit import RateLimiter
from api.config import Settings, get_settings
from api.correlation import RequestIdMiddleware
from api.db import create_engine
from api.deps import Services
from api.metrics import WorkflowMetrics, instrument
from api.routes import emails, health, reports, ui, workflows
from api.schemas import AUTH_RESPONSES
from api.workflows.relay import OutboxRelay
from api.workflows.tracker import Tracker
from contracts import create_celery_app, tracing

#: Seconds between clean-ups of expired idempotency keys.
IDEMPOTENCY_EXPIRY_INTERVAL = 600.0


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API; its engine, Celery app, relay and tracker live as long as the app runs."""
    settings = settings or get_settings()
    registry = CollectorRegistry()
    workflow_metrics = WorkflowMetrics(registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings)
        celery_app = create_celery_app("api", settings)
        relay = OutboxRelay(engine, celery_app, settings.relay_interval)
        tracker = Tracker(engine, settings.tracker_interval, workflow_metrics)
        limiter = RateLimiter(settings.rate_limit)
        app.state.services = Services(
            settings, engine, celery_app, relay, limiter, workflow_metrics
        )
        try:
            async with anyio.create_task_group() as background:
                background.start_soon(relay.run)
                background.start_soon(tracker.run)
                background.start_soon(
                    idempotency.expire,
                    engine,
                    timedelta(hours=settings.idempotency_ttl_hours),
                    IDEMPOTENCY_EXPIRY_INTERVAL,
                )
                yield
                background.cancel_scope.cancel()
        finally:
            await engine.dispose()
            await anyio.to_thread.run_sync(celery_app.close)

    app = FastAPI(
        title="Switchyard API",
        version="0.1.0",
        summary="Accepts work, runs it on Celery workers, and reports one status per workflow.",
        lifespan=lifespan,
        max_body_size=settings.max_body_bytes,
    )
    unavailable.install(app)
    app.include_router(health.router)
    app.include_router(emails.router, responses=AUTH_RESPONSES)
    app.include_router(reports.router, responses=AUTH_RESPONSES)
    app.include_router(workflows.router, responses=AUTH_RESPONSES)
    app.include_router(ui.router)
    instrument(app, registry)
    if tracing.configure_tracing("api"):
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")
    # Outermost: every response, errors included, carries the request's id.
    app.add_middleware(RequestIdMiddleware)
    return app
