"""Following one request across the services, and the metrics each of them serves."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.conftest import System
from tests.support.polling import eventually, wait_for_workflow
from tests.support.processes import ServiceProcess
from tests.support.prometheus import samples, value

pytestmark = pytest.mark.e2e


def email(subject: str) -> dict[str, Any]:
    return {"to": ["ada@example.com"], "subject": subject, "text": "Hello"}


def log_lines(service: ServiceProcess, needle: str) -> list[dict[str, Any]]:
    """The service's JSON log lines that mention ``needle``."""
    found = []
    for line in service.logs().splitlines():
        if needle in line and line.startswith("{"):
            found.append(json.loads(line))
    return found


def test_a_request_id_is_returned_stored_and_logged_by_the_api_and_the_worker(
    system: System, client: httpx.Client
) -> None:
    request_id = f"trace-{uuid.uuid4().hex}"

    response = client.post(
        "/v1/emails",
        json=email(f"traced {uuid.uuid4().hex[:8]}"),
        headers={"X-Request-ID": request_id},
    )

    assert response.status_code == 202, response.text
    assert response.headers["X-Request-ID"] == request_id
    workflow_id = response.json()["workflow_id"]
    document = wait_for_workflow(client, workflow_id)
    assert document["status"] == "succeeded", document
    assert document["request_id"] == request_id
    [step] = document["steps"]
    assert step["worker"].startswith("email-worker@"), step

    # The API: the request itself, the accepted workflow, its publication, its end.
    def api_events() -> set[str]:
        lines = log_lines(system.api, request_id)
        return {line["event"] for line in lines if line.get("request_id") == request_id}

    story = {"request", "workflow accepted", "workflow published", "workflow finished"}
    eventually(lambda: story <= api_events())
    [accepted] = [
        line for line in log_lines(system.api, request_id) if line["event"] == "workflow accepted"
    ]
    assert accepted["workflow_id"] == workflow_id
    assert accepted["service"] == "api"

    # The worker: every line of the task carries the request, workflow, task and name.
    worker_lines = log_lines(system.email_worker, request_id)
    assert {"task started", "task finished"} <= {line["event"] for line in worker_lines}
    assert any("succeeded in" in line["event"] for line in worker_lines), worker_lines
    for line in worker_lines:
        assert line["request_id"] == request_id
        assert line["workflow_id"] == workflow_id
        assert line["task_id"] == step["task_id"]
        assert line["task_name"] == "email.send"
        assert line["service"] == "email-worker"
    [finished] = [line for line in worker_lines if line["event"] == "task finished"]
    assert finished["outcome"] == "succeeded"


def test_the_api_makes_a_request_id_when_none_or_a_bad_one_is_given(
    client: httpx.Client,
) -> None:
    made = client.get("/healthz").headers["X-Request-ID"]
    assert uuid.UUID(made)

    refused = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert uuid.UUID(refused.headers["X-Request-ID"])

    unauthorized = httpx.get(f"{client.base_url}/v1/workflows", headers={"X-Request-ID": "r-1"})
    assert unauthorized.status_code == 401
    assert unauthorized.headers["X-Request-ID"] == "r-1"


def test_api_metrics_count_a_submitted_and_a_finished_workflow(
    system: System, client: httpx.Client
) -> None:
    url = system.api_metrics_url
    before = samples(url)

    response = client.post("/v1/emails", json=email(f"counted {uuid.uuid4().hex[:8]}"))
    assert response.status_code == 202, response.text
    document = wait_for_workflow(client, response.json()["workflow_id"])
    assert document["status"] == "succeeded"

    submitted = "switchyard_workflows_submitted_total"
    finished = "switchyard_workflows_finished_total"
    durations = "switchyard_workflow_duration_seconds_count"
    after = samples(url)
    assert value(after, submitted, kind="email", origin="api") >= (
        value(before, submitted, kind="email", origin="api") + 1
    )

    # The tracker counts a workflow once it stored it as finished (soon after the read).
    def counted_as_finished() -> dict[Any, float] | None:
        now = samples(url)
        done = value(now, finished, kind="email", status="succeeded")
        return (
            now if done >= value(before, finished, kind="email", status="succeeded") + 1 else None
        )

    after = eventually(counted_as_finished)
    assert value(after, durations, kind="email", status="succeeded") >= (
        value(before, durations, kind="email", status="succeeded") + 1
    )
    # The HTTP metrics, by route template.
    assert (
        value(after, "http_requests_total", handler="/v1/emails", method="POST", status="2xx") >= 1
    )


def test_each_worker_serves_metrics_of_its_tasks_and_queues(
    system: System, client: httpx.Client, worker_metrics: dict[str, str]
) -> None:
    today = datetime.now(UTC).date().isoformat()
    report = client.post(
        "/v1/reports",
        json={"kind": "workflow_summary", "period": {"start": today, "end": today}},
    )
    sent = client.post("/v1/emails", json=email(f"metered {uuid.uuid4().hex[:8]}"))
    for response in (report, sent):
        assert response.status_code == 202, response.text
        assert wait_for_workflow(client, response.json()["workflow_id"])["status"] == "succeeded"

    for service, task, queue in (
        ("email-worker", "email.send", "email.transactional"),
        ("report-worker", "report.generate", "reports.default"),
    ):
        found = samples(f"http://127.0.0.1:{worker_metrics[service]}/metrics")
        assert value(found, "switchyard_worker_tasks_total", task=task, outcome="succeeded") >= 1
        assert (
            value(
                found,
                "switchyard_worker_task_duration_seconds_count",
                task=task,
                outcome="succeeded",
            )
            >= 1
        )
        # Read from the broker at scrape time: the work queue and its dead-letter queue.
        assert ("switchyard_queue_messages", frozenset({("queue", queue)})) in found, service
        assert ("switchyard_queue_messages", frozenset({("queue", f"{queue}.dlq")})) in found
        assert value(found, "switchyard_queue_consumers", queue=queue) >= 1
