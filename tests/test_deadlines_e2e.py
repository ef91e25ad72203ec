"""Every workflow ends: past its deadline, or as soon as its message is lost on the broker.

The session's system has a worker on every queue. These tests run a system of their own
with none (a fresh vhost and database, the API and its intake only), so every message
waits with nobody to consume it, as when a worker is missing. Emails have a 2 s deadline
(``DEADLINE_EMAIL=2``) and reports 4 s; report batches keep the default 6 h, so a batch
that fails within seconds failed because its message was lost, not late.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from kombu import Connection

from contracts.topology import DELIVERY_LIMIT
from tests.support import processes
from tests.support.dead_letters import publish_raw, take_message, task_headers, task_row
from tests.support.infra import fresh_database, fresh_vhost, provide_broker, provide_database
from tests.support.polling import wait_for_workflow
from tests.support.smtp_sink import free_port
from tests.test_scheduler_e2e import events, wait_until

pytestmark = pytest.mark.e2e

EMAIL_DEADLINE = 2.0
REPORT_DEADLINE = 4.0
#: How long past its deadline a workflow may stay unfinished: the leader looks again
#: within the shortest deadline (2 s here), plus a busy machine's delays.
GRACE = 8.0
PERIOD = {"start": "2026-11-01", "end": "2026-11-30"}
REPORT = {"kind": "email_activity", "period": PERIOD, "format": "csv"}


@dataclass
class Unattended:
    """The API and its intake, with no worker on any queue."""

    env: dict[str, str]
    client: httpx.Client
    #: A client of the tenant ``system``, whose the scheduled runs are.
    system_client: httpx.Client
    intake: processes.ServiceProcess
    log_dir: Path


@pytest.fixture(scope="module")
def unattended(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Unattended]:
    log_dir = tmp_path_factory.mktemp("unattended-logs")
    port = free_port()
    with (
        provide_broker(os.environ) as (broker, management),
        fresh_vhost(broker, management) as amqp_url,
        provide_database(os.environ) as server,
        fresh_database(server) as database_url,
    ):
        env = {
            "AMQP_URL": amqp_url,
            "DATABASE_URL": database_url,
            "API_HOST": "127.0.0.1",
            "API_PORT": str(port),
            "API_WORKERS": "1",
            "WORKER_CONCURRENCY": "1",
            "DEADLINE_EMAIL": str(EMAIL_DEADLINE),
            "DEADLINE_REPORT": str(REPORT_DEADLINE),
        }
        processes.run(["api", "migrate"], env)
        processes.run(["scheduler", "migrate"], env)
        api = processes.start("api", ["api"], env, log_dir)
        intake = processes.start("api-intake", ["api", "intake"], env, log_dir)
        try:
            processes.wait_for_log(intake, "ready.")
            processes.wait_until_ready(api, f"http://127.0.0.1:{port}/readyz")
            url = f"http://127.0.0.1:{port}"
            keys = {t: processes.create_api_key(env, t) for t in ("tests", "system")}
            with (
                httpx.Client(
                    base_url=url, timeout=40, headers=processes.bearer(keys["tests"])
                ) as c,
                httpx.Client(
                    base_url=url, timeout=40, headers=processes.bearer(keys["system"])
                ) as s,
            ):
                yield Unattended(env, c, s, intake, log_dir)
        finally:
            intake.stop()
            api.stop()


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def lasted(document: dict[str, Any]) -> float:
    """Seconds from acceptance to the end, as the document says."""
    return (moment(document["finished_at"]) - moment(document["created_at"])).total_seconds()


def purge(amqp_url: str, queue: str) -> None:
    """Empty ``queue`` of what earlier tests left (their workflows have ended)."""
    with Connection(amqp_url) as connection:
        channel: Any = connection.channel()
        try:
            channel.queue_purge(queue)
        finally:
            channel.close()


def refuse(amqp_url: str, queue: str, task_id: str, *, requeue: bool) -> int:
    """Play a broken worker: take the task's message from ``queue`` and reject it, put
    back each time with ``requeue`` until the broker dead-letters it; how many times."""
    refused = 0
    quiet_since: float | None = None
    give_up = time.monotonic() + 60
    with Connection(amqp_url) as connection:
        channel: Any = connection.channel()
        try:
            while time.monotonic() < give_up:
                raw = channel.basic_get(queue=queue, no_ack=False)
                if raw is None:
                    if refused and not requeue:
                        return refused
                    quiet_since = quiet_since or time.monotonic()
                    if refused and time.monotonic() - quiet_since > 2:
                        return refused  # it no longer comes back: dead-lettered
                    time.sleep(0.1)
                    continue
                quiet_since = None
                assert raw.headers["id"] == task_id, raw.headers
                channel.basic_reject(raw.delivery_tag, requeue=requeue)
                refused += 1
        finally:
            channel.close()
    raise AssertionError(f"{task_id} was still in {queue} after {refused} refusals")


def test_a_workflow_whose_message_nobody_consumes_fails_past_its_deadline(
    unattended: Unattended,
) -> None:
    client = unattended.client
    accepted = client.post(
        "/v1/emails", json={"to": ["ada@example.com"], "subject": "no worker", "text": "x"}
    )
    assert accepted.status_code == 202, accepted.text

    document = wait_for_workflow(client, accepted.json()["workflow_id"], timeout=30)

    assert document["status"] == "failed", document
    assert document["error"]["type"] == "DeadlineExceeded"
    assert f"within {EMAIL_DEADLINE:g} s" in document["error"]["message"]
    assert EMAIL_DEADLINE <= lasted(document) < EMAIL_DEADLINE + GRACE, document
    [step] = document["steps"]
    assert (step["status"], step["error"]) == ("cancelled", document["error"])
    # Revoked in the result table: a worker that gets the message later skips it.
    row = task_row(unattended.env["DATABASE_URL"], step["task_id"])
    assert row is not None and row.state == "REVOKED"
    # Its document is final: a cancel finds it finished.
    cancel = client.post(f"/v1/workflows/{document['id']}/cancel")
    assert cancel.status_code == 409
    assert cancel.json()["workflow"] == document


def test_a_message_no_binding_matches_fails_its_workflow_at_once(unattended: Unattended) -> None:
    client = unattended.client
    accepted = client.post("/v1/report-batches", json={"reports": [REPORT, REPORT]}).json()
    first, second = client.get(accepted["status_url"]).json()["steps"]
    # A producer with a wrong route: the step's message, on a key no binding matches.
    body = json.dumps([[], {}, {"callbacks": None, "errbacks": None, "chain": None}]).encode()
    headers = task_headers("report.generate", first["task_id"], workflow_id=accepted["workflow_id"])
    publish_raw(
        unattended.env["AMQP_URL"], body, exchange="reports", routing_key="nowhere", headers=headers
    )

    document = wait_for_workflow(client, accepted["workflow_id"], timeout=30)

    assert document["status"] == "failed", document
    assert document["error"] == {
        "type": "Unroutable",
        "message": "no queue is bound to routing key 'nowhere' on exchange 'reports';"
        " the message waits in unroutable",
    }
    assert lasted(document) < 30, "failed when its message was lost, not at its deadline"
    lost, sibling = document["steps"]
    assert (lost["task_id"], lost["status"]) == (first["task_id"], "failed")
    assert (sibling["task_id"], sibling["status"]) == (second["task_id"], "cancelled")
    row = task_row(unattended.env["DATABASE_URL"], second["task_id"])
    assert row is not None and row.state == "REVOKED"
    # The original is kept where it landed, for inspection.
    kept = take_message(
        unattended.env["AMQP_URL"], "unroutable", lambda m: m.headers.get("id") == first["task_id"]
    )
    assert kept is not None


@pytest.mark.parametrize(
    ("requeue", "reason"), [(False, "rejected"), (True, "delivery_limit")], ids=["reject", "limit"]
)
def test_a_message_the_broker_dead_letters_fails_its_workflow_with_the_reason(
    unattended: Unattended, requeue: bool, reason: str
) -> None:
    amqp_url = unattended.env["AMQP_URL"]
    purge(amqp_url, "reports.default")
    client = unattended.client
    accepted = client.post("/v1/report-batches", json={"reports": [REPORT]}).json()
    [step] = client.get(accepted["status_url"]).json()["steps"]

    refused = refuse(amqp_url, "reports.default", step["task_id"], requeue=requeue)
    document = wait_for_workflow(client, accepted["workflow_id"], timeout=30)

    assert refused >= DELIVERY_LIMIT if requeue else refused == 1
    assert document["status"] == "failed", document
    assert document["error"] == {
        "type": "DeadLettered",
        "message": f"reports.default dead-lettered the message ({reason});"
        " it waits in reports.default.dlq",
    }
    assert lasted(document) < 60, "failed when its message was dead-lettered"
    assert document["steps"][0]["status"] == "failed"
    kept = take_message(
        amqp_url, "reports.default.dlq", lambda m: m.headers.get("id") == step["task_id"]
    )
    assert kept is not None


def test_a_scheduled_run_past_its_deadline_frees_its_schedule(unattended: Unattended) -> None:
    # The daily report every 2 s; no report worker, so each run waits until its deadline.
    scheduler = processes.start(
        "scheduler",
        ["scheduler"],
        {
            **unattended.env,
            "SCHEDULE_EMAIL_ACTIVITY": "2",
            "SCHEDULE_BACKEND_CLEANUP": "off",
            "REPORT_RECIPIENTS": "ops@example.com",
        },
        unattended.log_dir,
    )
    try:
        intake = unattended.intake
        [first, *_] = wait_until(
            lambda: events(intake, "scheduled run started"), 30, "a first scheduled run"
        )
        skipped = wait_until(
            lambda: [
                e
                for e in events(intake, "scheduled run skipped: the previous run is unfinished")
                if e["unfinished"] == first["workflow_id"]
            ],
            30,
            "a tick skipped because the first run is unfinished",
        )
        run = wait_for_workflow(unattended.system_client, first["workflow_id"], timeout=30)
        assert run["status"] == "failed", run
        assert run["error"]["type"] == "DeadlineExceeded"
        assert REPORT_DEADLINE <= lasted(run) < REPORT_DEADLINE + GRACE, run
        following = wait_until(
            lambda: [
                e
                for e in events(intake, "scheduled run started")
                if moment(e["tick"]) > moment(skipped[-1]["tick"])
            ],
            30,
            "a run started after the first one failed",
        )
    finally:
        scheduler.stop()
    assert moment(following[0]["tick"]) >= moment(run["finished_at"]) - timedelta(seconds=2)
    assert following[0]["workflow_id"] != first["workflow_id"]


def blocks(node: dict[str, Any]) -> int:
    """The most pages any node of a plan read (a node's count includes its children's)."""
    own: int = node["Shared Hit Blocks"] + node["Shared Read Blocks"]
    return max([own, *(blocks(child) for child in node.get("Plans", []))])


def test_looking_for_due_deadlines_reads_a_few_index_pages_whatever_the_backlog(
    unattended: Unattended,
) -> None:
    """The leader's two reads, on 100,000 unfinished workflows not due for an hour."""
    from api.workflows.deadlines import EXPIRED, NEXT_DEADLINE

    backlog = 100_000
    tenant = f"backlog-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(unattended.env["DATABASE_URL"], autocommit=True) as db:
        db.execute(
            "INSERT INTO api.workflows (id, tenant, kind, shape, status, created_at, updated_at,"
            " request, steps, document, etag, deadline_at)"
            " SELECT gen_random_uuid(), %s, 'email', 'single', 'queued', now(), now(), '{}',"
            " '[]', '{}', '\"x\"', now() + interval '1 hour' + n * interval '1 ms'"
            " FROM generate_series(1, %s) AS n",
            (tenant, backlog),
        )
        try:
            db.execute("VACUUM (ANALYZE) api.workflows")
            pages = db.execute(
                "SELECT relpages FROM pg_class WHERE oid = 'api.workflows'::regclass"
            ).fetchone()
            assert pages is not None and pages[0] > 1_000
            for statement in (NEXT_DEADLINE, EXPIRED.replace("$1", "100")):
                [[plan]] = db.execute(
                    f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {statement}"
                ).fetchall()
                assert "workflows_unfinished_deadline" in json.dumps(plan), plan
                assert blocks(plan[0]["Plan"]) <= 10, (statement, json.dumps(plan))
        finally:
            db.execute("DELETE FROM api.workflows WHERE tenant = %s", (tenant,))
