"""The API's workflow and HTTP metrics (an app of its own, no database); their endpoint, on
a port of its own, is tested end to end (tests/test_exposure_e2e.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.types import ASGIApp, Message

from api.metrics import HttpMetrics, RelayMetrics, WorkflowMetrics

CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def test_submitted_finished_and_durations_by_kind_and_status() -> None:
    registry = CollectorRegistry()
    metrics = WorkflowMetrics(registry)

    metrics.accepted("email", "api")
    metrics.accepted("email", "api")
    metrics.done("email", "succeeded", CREATED, CREATED + timedelta(seconds=2))
    metrics.done("report", "failed", CREATED, CREATED + timedelta(minutes=3))

    def sample(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert sample("switchyard_workflows_submitted_total", kind="email", origin="api") == 2
    assert sample("switchyard_workflows_finished_total", kind="email", status="succeeded") == 1
    assert sample("switchyard_workflows_finished_total", kind="report", status="failed") == 1
    assert sample("switchyard_workflow_duration_seconds_sum", kind="email", status="succeeded") == 2
    assert (
        sample(
            "switchyard_workflow_duration_seconds_bucket",
            kind="report",
            status="failed",
            le="120.0",
        )
        == 0
    )
    assert (
        sample(
            "switchyard_workflow_duration_seconds_bucket",
            kind="report",
            status="failed",
            le="300.0",
        )
        == 1
    )


def test_the_relays_health_backlog_and_failures() -> None:
    registry = CollectorRegistry()
    metrics = RelayMetrics(registry)
    assert registry.get_sample_value("switchyard_relay_healthy") == 1

    metrics.health(False)
    metrics.overdue(42.5)
    metrics.failed("refused", 2)
    metrics.failed("unsettled", 0)
    metrics.given_up(1)

    assert registry.get_sample_value("switchyard_relay_healthy") == 0
    assert registry.get_sample_value("switchyard_outbox_oldest_due_seconds") == 42.5
    refused = {"reason": "refused"}
    assert registry.get_sample_value("switchyard_outbox_publish_failures_total", refused) == 2
    unsettled = {"reason": "unsettled"}
    assert registry.get_sample_value("switchyard_outbox_publish_failures_total", unsettled) is None
    assert registry.get_sample_value("switchyard_outbox_moved_aside_total") == 1


def test_two_apps_keep_separate_registries() -> None:
    first, second = CollectorRegistry(), CollectorRegistry()
    WorkflowMetrics(first).accepted("email", "api")
    WorkflowMetrics(second)  # no "Duplicated timeseries": each app has its own registry

    labels = {"kind": "email", "origin": "api"}
    assert first.get_sample_value("switchyard_workflows_submitted_total", labels) == 1
    assert second.get_sample_value("switchyard_workflows_submitted_total", labels) is None


def get(app: ASGIApp, path: str) -> tuple[int, str]:
    sent: list[Message] = []
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [],
        "scheme": "http",
        "server": ("test", 80),
        "root_path": "",
        "http_version": "1.1",
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    anyio.run(app, scope, receive, send)
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body.decode()


def test_http_requests_are_counted_by_route_and_the_app_has_no_metrics_path() -> None:
    app = FastAPI()
    registry = CollectorRegistry()

    @app.get("/things/{thing}")
    def thing(thing: str) -> dict[str, str]:
        return {"thing": thing}

    served = HttpMetrics(app, registry)

    assert get(served, "/things/a")[0] == 200
    assert get(served, "/metrics")[0] == 404

    def requests(handler: str, status: str) -> float | None:
        labels = {"handler": handler, "method": "GET", "status": status}
        return registry.get_sample_value("http_requests_total", labels)

    assert requests("/things/{thing}", "2xx") == 1
    assert requests("none", "4xx") == 1
