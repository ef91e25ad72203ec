"""Status is pushed, not polled: a long poll wakes on the change, waits without queries,
and what a notification missed is repaired.

The session's API runs several server processes (``API_WORKERS`` defaults to the cores),
so a long poll may wait in a process other than the one that accepted the work.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import anyio
import asyncpg
import httpx
import psycopg
import pytest
from celery import Celery

from api.workflows import creation, plans
from api.workflows.updater import StatusUpdater
from contracts import SendEmail
from switchyard_runtime.celery_app import create_celery_app
from switchyard_runtime.settings import PlatformSettings
from tests.conftest import TENANT, System
from tests.support.polling import wait_for_workflow

pytestmark = pytest.mark.e2e


def email(label: str) -> dict[str, object]:
    return {"to": ["ada@example.com"], "subject": f"{label} {uuid.uuid4().hex[:8]}", "text": "x"}


def server_now(database_url: str) -> datetime:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SELECT clock_timestamp()").fetchone()
    assert row is not None
    moment: datetime = row[0]
    return moment


def request_queries_since(database_url: str, since: datetime) -> int:
    """API request connections (pool ``api``) whose last query started after ``since``:
    zero when no request has queried the database since."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name = 'api' AND query_start >= %s",
            (since,),
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_a_long_poll_answers_as_soon_as_the_document_changes(client: httpx.Client) -> None:
    accepted = client.post("/v1/emails", json=email("pushed"))
    assert accepted.status_code == 202, accepted.text
    status_url = accepted.json()["status_url"]
    first = client.get(status_url)
    assert first.status_code == 200

    document, etag = first.json(), first.headers["ETag"]
    while document["status"] != "succeeded":
        began = time.monotonic()
        answer = client.get(status_url, params={"wait": 30}, headers={"If-None-Match": etag})
        waited = time.monotonic() - began
        assert answer.status_code == 200, "a change ends the wait with the new document"
        assert waited < 15, f"answered after {waited:.1f}s: woken by the change, not the timeout"
        assert answer.headers["ETag"] != etag
        document, etag = answer.json(), answer.headers["ETag"]
    assert document["finished_at"] is not None


def test_held_long_polls_cost_the_database_nothing(system: System, client: httpx.Client) -> None:
    accepted = client.post("/v1/emails", json=email("held"))
    assert accepted.status_code == 202, accepted.text
    finished = wait_for_workflow(client, accepted.json()["workflow_id"])
    status_url = accepted.json()["status_url"]
    etag = client.get(status_url).headers["ETag"]
    held, wait = 50, 6.0
    queried: list[int] = []

    async def hold_all() -> list[int]:
        codes: list[int] = []
        limits = httpx.Limits(max_connections=held, max_keepalive_connections=held)
        async with httpx.AsyncClient(
            base_url=system.api_url,
            headers={"Authorization": f"Bearer {system.api_key}"},
            timeout=30,
            limits=limits,
        ) as http:

            async def poll() -> None:
                response = await http.get(
                    status_url, params={"wait": wait}, headers={"If-None-Match": etag}
                )
                codes.append(response.status_code)

            async def measure() -> None:
                # Once every poll has started (read its document once), see whether any
                # request queries the database while they wait.
                await anyio.sleep(2.0)
                since = await anyio.to_thread.run_sync(server_now, database_url)
                await anyio.sleep(3.0)
                queried.append(
                    await anyio.to_thread.run_sync(request_queries_since, database_url, since)
                )

            async with anyio.create_task_group() as group:
                for _ in range(held):
                    group.start_soon(poll)
                group.start_soon(measure)
        return codes

    database_url = system.env["DATABASE_URL"]
    codes = anyio.run(hold_all)

    assert finished["status"] == "succeeded"
    assert codes == [304] * held, "an unchanged document answers 304 when the wait ends"
    # A poll re-reading every 0.2 s would have queried 15 times each in these 3 s.
    assert queried == [0], f"{queried[0]} request connections queried while the polls waited"


@pytest.fixture
def celery_app(system: System) -> Iterator[Celery]:
    app = create_celery_app(
        "pushed-status-tests",
        PlatformSettings.model_validate(
            {"amqp_url": system.env["AMQP_URL"], "database_url": system.env["DATABASE_URL"]}
        ),
    )
    yield app
    app.close()


async def _workflow_whose_step_succeeded_unannounced(pool: asyncpg.Pool, app: Celery) -> uuid.UUID:
    """A workflow whose step's result row was written without its workflow id, so the
    trigger announced nothing (as when no API process listened)."""
    payload = SendEmail(to=["ada@example.com"], subject="unannounced", text="x", tenant=TENANT)
    plan = plans.single(app, "email", payload)
    await creation.create(
        pool, plan, tenant=TENANT, request={"subject": "unannounced"}, deadline=timedelta(hours=1)
    )
    await pool.execute(
        "INSERT INTO celery_taskmeta (id, task_id, status, result, date_done, date_started)"
        " VALUES (nextval('task_id_sequence'), $1, 'SUCCESS', $2, timezone('utc', now()),"
        " now())",
        plan.steps[0].task_id,
        b'{"message_id": "<x@y>", "accepted": ["ada@example.com"], "refused": []}',
    )
    return plan.workflow_id


def test_what_no_notification_announced_is_repaired_by_reconcile_and_by_the_sweep(
    system: System, client: httpx.Client, celery_app: Celery
) -> None:
    async def scenario() -> tuple[str, str]:
        pool = await asyncpg.create_pool(system.env["DATABASE_URL"], min_size=1, max_size=2)
        try:
            updater = StatusUpdater(pool, sweep_batch=10_000)
            updater.gained()
            reconciled = await _workflow_whose_step_succeeded_unannounced(pool, celery_app)
            assert client.get(f"/v1/workflows/{reconciled}").json()["status"] == "queued"
            await updater.reconcile()

            swept = await _workflow_whose_step_succeeded_unannounced(pool, celery_app)
            await updater.sweep()
            return (
                client.get(f"/v1/workflows/{reconciled}").json()["status"],
                client.get(f"/v1/workflows/{swept}").json()["status"],
            )
        finally:
            await pool.close()

    assert anyio.run(scenario) == ("succeeded", "succeeded")
