"""The listing's ``status`` filter and the documents it shows agree, always.

Workflows of one fresh tenant are stored in every state (their outbox messages taken
back, so that no worker runs them and their steps change only as the test writes their
result rows). At each moment (just stored; right after a step's result row changed,
before the status leader applied it; after it did) every document listed under
``status=X`` says ``X``, and each workflow is listed under exactly one status.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import anyio
import asyncpg
import httpx
import pytest
from celery import Celery

from api.workflows import creation, plans, refresh
from contracts import SendEmail
from switchyard_runtime.celery_app import create_celery_app
from switchyard_runtime.settings import PlatformSettings
from tests.conftest import System, api_client
from tests.support import processes

pytestmark = pytest.mark.e2e

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
SENT = b'{"message_id": "<x@y>", "accepted": ["ada@example.com"], "refused": []}'
REFUSED = b'{"exc_type": "SMTPRecipientsRefused", "exc_message": ["refused"]}'


@pytest.fixture
def tenant(system: System) -> Iterator[tuple[str, httpx.Client]]:
    name = f"listing-{uuid.uuid4().hex[:8]}"
    with api_client(system, processes.create_api_key(system.env, name)) as http:
        yield name, http


@pytest.fixture
def celery_app(system: System) -> Iterator[Celery]:
    app = create_celery_app(
        "listing-tests",
        PlatformSettings.model_validate(
            {"amqp_url": system.env["AMQP_URL"], "database_url": system.env["DATABASE_URL"]}
        ),
    )
    yield app
    app.close()


def listed(http: httpx.Client, *, settled: bool = True) -> dict[str, str]:
    """Each listed workflow's document status, by id, checked against each filter.

    ``settled``: no change is in flight, so each workflow is listed under exactly one
    filter (while the leader applies a change, one may move between two requests).
    """
    seen: dict[str, str] = {}
    for status in STATUSES:
        answer = http.get("/v1/workflows", params={"status": status, "limit": 100})
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert page["next_cursor"] is None
        for item in page["items"]:
            assert item["status"] == status, f"listed under {status}: {item}"
            if settled:
                assert item["id"] not in seen, f"{item['id']} listed under two statuses"
            seen[item["id"]] = status
    everything = http.get("/v1/workflows", params={"limit": 100}).json()["items"]
    shown = {item["id"]: item["status"] for item in everything}
    if settled:
        assert shown == seen
    return shown


class Workflows:
    """Workflows stored directly, never published: their steps are what the test says."""

    def __init__(self, pool: asyncpg.Pool, app: Celery, tenant: str) -> None:
        self.pool, self.app, self.tenant = pool, app, tenant

    async def store(self, steps: int = 1) -> plans.Plan:
        payloads = [
            SendEmail(to=["ada@example.com"], subject="listing", text="x", tenant=self.tenant)
            for _ in range(steps)
        ]
        plan = (
            plans.single(self.app, "email", payloads[0])
            if steps == 1
            else plans.sequence(self.app, "email", payloads)
        )
        async with self.pool.acquire() as conn, conn.transaction():
            await creation.create(
                conn, plan, tenant=self.tenant, request={}, deadline=timedelta(hours=1)
            )
            await conn.execute("DELETE FROM api.outbox WHERE workflow_id = $1", plan.workflow_id)
        return plan

    async def step(
        self, plan: plans.Plan, index: int, state: str, result: bytes | None, *, announced: bool
    ) -> None:
        """Write a step's result row as a worker would; unannounced, no trigger tells
        the status leader (as when no API process listened)."""
        await self.pool.execute(
            "INSERT INTO celery_taskmeta"
            " (id, task_id, status, result, date_done, date_started, workflow_id)"
            " VALUES (nextval('task_id_sequence'), $1, $2::text, $3,"
            "  CASE WHEN $2::text IN ('SUCCESS', 'FAILURE') THEN timezone('utc', now()) END,"
            "  now(), $4)"
            " ON CONFLICT (task_id) DO UPDATE SET status = excluded.status,"
            "  result = excluded.result, date_done = excluded.date_done,"
            "  workflow_id = excluded.workflow_id",
            plan.steps[index].task_id,
            state,
            result,
            str(plan.workflow_id) if announced else None,
        )


def test_every_listed_document_has_the_status_it_is_listed_under(
    system: System, tenant: tuple[str, httpx.Client], celery_app: Celery
) -> None:
    name, http = tenant

    async def scenario() -> None:
        pool = await asyncpg.create_pool(system.env["DATABASE_URL"], min_size=1, max_size=2)
        try:
            stored = Workflows(pool, celery_app, name)
            queued = await stored.store()
            started = await stored.store()
            sent = await stored.store()
            failed = await stored.store()
            halfway = await stored.store(steps=2)
            cancelled = await stored.store()
            ids = {
                str(plan.workflow_id): plan
                for plan in (queued, started, sent, failed, halfway, cancelled)
            }

            just_stored = await anyio.to_thread.run_sync(listed, http)
            assert just_stored == dict.fromkeys(ids, "queued")

            answer = await anyio.to_thread.run_sync(
                lambda: http.post(f"/v1/workflows/{cancelled.workflow_id}/cancel")
            )
            assert answer.status_code == 202, answer.text

            await stored.step(started, 0, "STARTED", None, announced=False)
            await stored.step(sent, 0, "SUCCESS", SENT, announced=False)
            await stored.step(failed, 0, "FAILURE", REFUSED, announced=False)
            await stored.step(halfway, 0, "SUCCESS", SENT, announced=False)
            # Not applied yet (unless the leader's sweep came by): stored and shown
            # alike, whichever it is.
            before = await anyio.to_thread.run_sync(lambda: listed(http, settled=False))
            assert set(before) == set(ids)
            assert before[str(cancelled.workflow_id)] == "cancelled"

            async with pool.acquire() as conn:
                await refresh.refresh(conn, [plan.workflow_id for plan in ids.values()])
            applied = await anyio.to_thread.run_sync(listed, http)
            assert applied == {
                str(queued.workflow_id): "queued",
                str(started.workflow_id): "running",
                str(sent.workflow_id): "succeeded",
                str(failed.workflow_id): "failed",
                str(halfway.workflow_id): "running",
                str(cancelled.workflow_id): "cancelled",
            }

            # Announced changes: the system's own status leader applies them.
            await stored.step(started, 0, "SUCCESS", SENT, announced=True)
            await stored.step(halfway, 1, "FAILURE", REFUSED, announced=True)
            right_after = await anyio.to_thread.run_sync(lambda: listed(http, settled=False))
            assert right_after[str(started.workflow_id)] in ("running", "succeeded")
            assert right_after[str(halfway.workflow_id)] in ("running", "failed")
            with anyio.fail_after(30):
                while True:
                    now = await anyio.to_thread.run_sync(lambda: listed(http, settled=False))
                    if now[str(started.workflow_id)] == "succeeded" and (
                        now[str(halfway.workflow_id)] == "failed"
                    ):
                        break
                    await anyio.sleep(0.2)
            now = await anyio.to_thread.run_sync(listed, http)
            assert now == {
                **applied,
                str(started.workflow_id): "succeeded",
                str(halfway.workflow_id): "failed",
            }
        finally:
            await pool.close()

    anyio.run(scenario)
