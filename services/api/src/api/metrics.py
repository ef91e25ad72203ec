"""The API's Prometheus metrics, served at ``/metrics``.

- HTTP: ``http_requests_total{handler,method,status}`` (status as ``2xx``...) and
  ``http_request_duration_seconds{handler,method}``, by route template (``none`` for a
  path no route matched), counted by :class:`HttpMetrics`, a plain ASGI middleware: the
  instrumentator package this replaced cost a status read 40% of its throughput.
- Workflows, counted where they change: :func:`api.workflows.submit.submit` counts
  accepted ones, the status updater finished ones (once, when it stores the finished
  document) with their end-to-end duration, from acceptance to the last step's end.

With several server processes (``API_WORKERS``) the counters live in
``prometheus_client``'s multiprocess mode (``api serve`` prepares the directory before
anything imports the client) and ``/metrics`` adds up every process's. Without it each
app has its own registry, so apps built side by side (in tests) do not collide.
"""

from __future__ import annotations

import os
import time
from datetime import datetime

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Seconds from acceptance to the end: an email takes about a second, a report batch minutes.
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
#: Seconds an HTTP request takes: milliseconds, or up to 30 s for a long poll.
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


class WorkflowMetrics:
    """Workflows submitted, finished (by kind and status) and how long they took."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.submitted = Counter(
            "switchyard_workflows_submitted",
            "Workflows accepted, by kind and origin.",
            ["kind", "origin"],
            registry=registry,
        )
        self.finished = Counter(
            "switchyard_workflows_finished",
            "Workflows finished, by kind and final status.",
            ["kind", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "switchyard_workflow_duration_seconds",
            "End-to-end duration of finished workflows, by kind and final status.",
            ["kind", "status"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )

    def accepted(self, kind: str, origin: str) -> None:
        self.submitted.labels(kind, origin).inc()

    def done(self, kind: str, status: str, created_at: datetime, finished_at: datetime) -> None:
        self.finished.labels(kind, status).inc()
        self.duration.labels(kind, status).observe(
            max(0.0, (finished_at - created_at).total_seconds())
        )


class HttpMetrics:
    """Counts each HTTP request by route template, method and status class."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(
            "http_requests",
            "HTTP requests, by route template, method and status class.",
            ["handler", "method", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "HTTP request duration, by route template and method.",
            ["handler", "method"],
            buckets=HTTP_BUCKETS,
            registry=registry,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/metrics":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            handler = getattr(route, "path", None) or "none"
            method = scope["method"]
            self.requests.labels(handler, method, f"{status // 100}xx").inc()
            self.duration.labels(handler, method).observe(time.perf_counter() - started)


def instrument(app: FastAPI, registry: CollectorRegistry, served: ASGIApp | None = None) -> ASGIApp:
    """``GET /metrics`` on ``app``, and ``served`` (default: ``app``) counted by
    :class:`HttpMetrics`: what to serve."""

    @app.get("/metrics", include_in_schema=False, tags=["metrics"])
    async def metrics() -> Response:
        if os.environ.get(MULTIPROC_VARIABLE):
            merged = CollectorRegistry()
            MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
            return Response(generate_latest(merged), media_type=CONTENT_TYPE_LATEST)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return HttpMetrics(app if served is None else served, registry)
