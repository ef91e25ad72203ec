"""The FastAPI application and what it runs beside the routes.

Each server process (``API_WORKERS`` of them) runs the same background work: the outbox
relay, the notification listener (which also bids for the status leadership), the status
updater (working only while this process leads; it also fails workflows past their
deadline), the expiry of idempotency keys and that of ended quota windows' counters. All
of it is safe across processes and replicas: relays take outbox rows with ``SKIP
LOCKED``, and one listener at a time holds the leadership.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from uuid import UUID

import anyio
import structlog
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.types import ASGIApp

from api import db, readiness, security_headers, unavailable
from api.access import idempotency, keys, quotas
from api.access.gate import Gate
from api.access.ratelimit import RateLimiter
from api.config import Settings, get_settings
from api.correlation import RequestIdMiddleware
from api.metrics import HttpMetrics, RelayMetrics, WorkflowMetrics, count_server_process
from api.routes import docs, emails, events, health, reports, ui, webhooks, workflows
from api.routes.fast_paths import FastPaths
from api.schemas import AUTH_RESPONSES
from api.services import Services
from api.workflows.deadlines import Deadlines
from api.workflows.notifications import (
    KEYS_CHANNEL,
    OUTBOX_CHANNEL,
    WORKFLOWS_CHANNEL,
    Listener,
)
from api.workflows.relay import OutboxRelay
from api.workflows.retries import RetryPolicy
from api.workflows.updater import StatusUpdater
from api.workflows.watchers import Watchers
from switchyard_runtime import tracing
from switchyard_runtime.celery_app import create_celery_app
from switchyard_runtime.logs import configure_logging

log = structlog.get_logger(__name__)

#: Seconds between clean-ups of expired idempotency keys.
IDEMPOTENCY_EXPIRY_INTERVAL = 600.0
#: Seconds background work waits for one of its pool's connections.
BACKGROUND_ACQUIRE_TIMEOUT = 10.0


def _workflow_changed(watchers: Watchers) -> Callable[[str], None]:
    def changed(payload: str) -> None:
        try:
            watchers.changed(UUID(payload))
        except ValueError:
            return

    return changed


def serve_app() -> ASGIApp:
    """The app as ``api serve`` runs it, in each server process (logs set up there)."""
    configure_logging("api")
    return create_app()


async def _supervised(name: str, work: Callable[[], Awaitable[None]]) -> None:
    """Run background ``work`` for as long as the app runs, starting it again after a
    crash: a failing loop must not end the others (nor close the pools under requests)."""
    while True:
        try:
            await work()
            return
        except Exception:
            log.exception("background work crashed; starting it again", work=name)
            await anyio.sleep(1)


def create_app(settings: Settings | None = None) -> ASGIApp:
    """The API; its pools, Celery app and background work live as long as the app runs.

    From the outside in: the request id, its log line and the security headers, tracing
    (when configured), the HTTP metrics (served on ``METRICS_PORT``: :mod:`api.metrics`),
    the fast paths (:mod:`api.routes.fast_paths`), then FastAPI. Ours wrap FastAPI rather
    than sit in its middleware stack, so that the requests answered by the fast paths do
    not pass its five layers of error and body-size handling (a GET has no body; a fast
    POST is refused above the size limit before it is read).
    """
    settings = settings or get_settings()
    registry = CollectorRegistry()
    workflow_metrics = WorkflowMetrics(registry)
    relay_metrics = RelayMetrics(registry)
    count_server_process(registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await db.create_pool(
            settings, size=settings.db_pool_size, acquire_timeout=settings.db_acquire_timeout
        )
        background = await db.create_pool(
            settings,
            size=settings.db_background_pool_size,
            application_name="api-background",
            durable_commits=False,
            acquire_timeout=BACKGROUND_ACQUIRE_TIMEOUT,
        )
        celery_app = create_celery_app("api", settings)
        relay = OutboxRelay(
            background,
            celery_app,
            confirm_timeout=settings.relay_confirm_timeout,
            retries=RetryPolicy(
                max_attempts=settings.outbox_max_attempts,
                base=settings.outbox_retry_backoff,
                cap=settings.outbox_retry_backoff_max,
            ),
            metrics=relay_metrics,
            workflow_metrics=workflow_metrics,
        )
        deadlines = Deadlines(background, celery_app, shortest=settings.shortest_deadline)
        updater = StatusUpdater(background, workflow_metrics, deadlines=deadlines)
        watchers = Watchers()
        key_cache = keys.KeyCache()

        def connected() -> None:
            # Whatever was announced while disconnected is unknown: look again.
            watchers.all_changed()
            relay.notify()
            key_cache.clear()
            key_cache.reload()

        listener = Listener(
            settings,
            {
                WORKFLOWS_CHANNEL: _workflow_changed(watchers),
                OUTBOX_CHANNEL: lambda _payload: relay.notify(),
                KEYS_CHANNEL: key_cache.forget,
                keys.CREATED_CHANNEL: key_cache.created,
            },
            on_connected=connected,
            leadership=updater,
        )
        app.state.services = Services(
            settings,
            pool,
            celery_app,
            relay,
            RateLimiter(settings.rate_limit),
            workflow_metrics,
            key_cache,
            watchers,
            Gate(pool, key_cache, RateLimiter(settings.unauthenticated_rate_limit)),
            readiness.Readiness(
                [
                    readiness.database_and_outbox(
                        background, settings.outbox_max_age, relay_metrics
                    ),
                    readiness.broker(celery_app),
                    readiness.relay(relay),
                ]
            ),
        )
        # What start-up made (modules, routes, schemas) lives as long as the process: out
        # of the collector's sight, a full collection no longer walks it all, which was
        # what the slowest requests waited for.
        gc.collect()
        gc.freeze()
        try:
            async with anyio.create_task_group() as tasks:
                keep = timedelta(hours=settings.idempotency_ttl_hours)
                tasks.start_soon(_supervised, "relay", relay.run)
                tasks.start_soon(_supervised, "status updater", updater.run)
                tasks.start_soon(_supervised, "listener", listener.run)
                tasks.start_soon(
                    _supervised, "valid keys", lambda: key_cache.keep_loaded(background)
                )
                tasks.start_soon(
                    _supervised,
                    "idempotency expiry",
                    lambda: idempotency.expire(background, keep, IDEMPOTENCY_EXPIRY_INTERVAL),
                )
                tasks.start_soon(
                    _supervised,
                    "quota expiry",
                    lambda: quotas.expire(background, IDEMPOTENCY_EXPIRY_INTERVAL),
                )
                yield
                tasks.cancel_scope.cancel()
        finally:
            with anyio.move_on_after(5, shield=True):
                await pool.close()
                await background.close()
            await anyio.to_thread.run_sync(celery_app.close)

    app = FastAPI(
        title="Switchyard API",
        version="0.1.0",
        summary="Accepts work, runs it on Celery workers, and reports one status per workflow.",
        lifespan=lifespan,
        max_body_size=settings.max_body_bytes,
        # Tracing is OpenTelemetry's instrumentation below, when configured; FastAPI's
        # own telemetry would otherwise ask on every request whether it is on.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        # Operation ids read as method names (``send_email``, ``get_workflow``) for the
        # clients generated from the description.
        generate_unique_id_function=lambda route: route.name,
        # Ours, without a CDN (api.routes.docs).
        docs_url=None,
        redoc_url=None,
    )
    unavailable.install(app)
    app.include_router(health.router)
    app.include_router(emails.router, responses=AUTH_RESPONSES)
    app.include_router(reports.router, responses=AUTH_RESPONSES)
    app.include_router(workflows.router, responses=AUTH_RESPONSES)
    app.include_router(events.router, responses=AUTH_RESPONSES)
    app.include_router(webhooks.router, responses=AUTH_RESPONSES)
    app.include_router(ui.router)
    docs.install(app)
    served: ASGIApp = HttpMetrics(FastPaths(app), registry)
    if tracing.configure_tracing("api"):
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

        served = OpenTelemetryMiddleware(served, excluded_urls="healthz,readyz")
    # Outermost: every response, errors included, carries the request's id and the
    # security headers.
    return RequestIdMiddleware(
        served, log_reads=settings.log_reads, add_headers=security_headers.add
    )
