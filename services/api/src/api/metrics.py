"""The API's Prometheus metrics, served on their own port (``METRICS_PORT``).

- HTTP: ``http_requests_total{handler,method,status}`` (status as ``2xx``...) and
  ``http_request_duration_seconds{handler,method}``, by route template (``none`` for a
  path no route matched), counted by :class:`HttpMetrics`, a plain ASGI middleware: the
  instrumentator package this replaced cost a status read 40% of its throughput.
- Workflows, counted where they change: :func:`api.workflows.submit.submit` counts
  accepted ones, the status updater finished ones (once, when it stores the finished
  document) with their end-to-end duration, from acceptance to the last step's end.
- The outbox relay (:class:`RelayMetrics`): whether each process's relay is healthy,
  how long the most overdue message has waited, publish failures and messages moved
  aside.
- ``switchyard_api_server_processes``: the server processes running (``API_WORKERS``
  when all are up).

``api serve`` runs the counters in ``prometheus_client``'s multiprocess mode (it prepares
the directory before anything imports the client) and serves :func:`exposition`, which
adds up every server process's, from a process of its own beside them
(:mod:`api.serving`): not on the public port, where ``/metrics`` is an unknown path. An
app built without that mode (in tests) counts into its own registry, so apps built side
by side do not collide.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_asgi_app
from prometheus_client.multiprocess import MultiProcessCollector

if TYPE_CHECKING:  # typing only: the workflow counters are imported by domain code
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Seconds from acceptance to the end: an email takes about a second, a report batch minutes.
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
#: Seconds an HTTP request takes: milliseconds, or up to 30 s for a long poll.
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


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


class RelayMetrics:
    """The outbox relay's health, its backlog's age, its failures."""

    def __init__(self, registry: CollectorRegistry) -> None:
        # One series per live server process (a ``pid`` label in multiprocess mode):
        # each process runs its own relay.
        self.relay_healthy = Gauge(
            "switchyard_relay_healthy",
            "1 while this process's outbox relay publishes, 0 from a failed publish "
            "(broker unreachable, blocking, not confirming) until one succeeds.",
            registry=registry,
            multiprocess_mode="liveall",
        )
        # The same fact seen by every process: the value measured last, by any of them.
        self.oldest_due = Gauge(
            "switchyard_outbox_oldest_due_seconds",
            "How long the outbox message most overdue for publishing has waited.",
            registry=registry,
            multiprocess_mode="livemostrecent",
        )
        self.publish_failures = Counter(
            "switchyard_outbox_publish_failures",
            "Outbox messages not published by a relay pass, by reason: refused (by the "
            "broker, for that message) or unsettled (the broker unreachable, blocking "
            "publishers or not confirming in time).",
            ["reason"],
            registry=registry,
        )
        self.moved_aside = Counter(
            "switchyard_outbox_moved_aside",
            "Outbox messages given up after their last attempt (api.outbox_dead).",
            registry=registry,
        )
        self.relay_healthy.set(1)

    def health(self, healthy: bool) -> None:
        self.relay_healthy.set(1 if healthy else 0)

    def overdue(self, seconds: float) -> None:
        self.oldest_due.set(seconds)

    def failed(self, reason: str, messages: int) -> None:
        if messages:
            self.publish_failures.labels(reason).inc(messages)

    def given_up(self, messages: int) -> None:
        if messages:
            self.moved_aside.inc(messages)


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
        if scope["type"] != "http":
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


def count_server_process(registry: CollectorRegistry) -> None:
    """Count this process among the running servers (dropped when it exits, by the
    supervisor: :func:`switchyard_runtime.metrics.mark_process_dead`)."""
    Gauge(
        "switchyard_api_server_processes",
        "API server processes running.",
        registry=registry,
        multiprocess_mode="livesum",
    ).set(1)


def exposition() -> ASGIApp:
    """Every server process's metrics, added up (multiprocess mode), as an ASGI app."""
    merged = CollectorRegistry()
    MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
    app: ASGIApp = make_asgi_app(merged)
    return app
