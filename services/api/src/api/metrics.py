"""The API's Prometheus metrics, served at ``/metrics``.

HTTP metrics come from prometheus-fastapi-instrumentator; the workflow metrics are
counted where workflows change: :func:`api.workflows.submit.submit` counts accepted
ones, the tracker finished ones (once, when it freezes the finished document) with their
end-to-end duration, from acceptance to the last step's end. Each app has its own
registry, so apps built side by side (in tests) do not collide.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_fastapi_instrumentator import Instrumentator

#: Seconds from acceptance to the end: an email takes about a second, a report batch minutes.
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


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


def instrument(app: FastAPI, registry: CollectorRegistry) -> None:
    """HTTP request metrics for every route, and ``GET /metrics`` serving ``registry``."""
    Instrumentator(
        registry=registry,
        excluded_handlers=["^/metrics$"],
        should_group_untemplated=True,
    ).instrument(app).expose(app, include_in_schema=False, tags=["metrics"])
