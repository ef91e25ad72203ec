"""The live status stream: the document at once, each change, a heartbeat while nothing
changes, the end after a finished document, and a reconnect that repeats nothing."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio
import asyncpg
import httpx
import pytest
from celery import Celery

from api.workflows import creation, plans
from contracts import SendEmail
from switchyard_runtime.celery_app import create_celery_app
from switchyard_runtime.settings import PlatformSettings
from tests.conftest import TENANT, System
from tests.support import processes
from tests.support.polling import wait_for_workflow

pytestmark = pytest.mark.e2e


@dataclass
class Event:
    id: str | None
    event: str | None
    data: str | None
    comment: bool = False

    @property
    def document(self) -> dict[str, Any]:
        assert self.data is not None
        document: dict[str, Any] = json.loads(self.data)
        return document


def read_events(response: httpx.Response) -> Iterator[Event]:
    """Server-sent events as the stream delivers them (comments included)."""
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if line == "":
            if fields:
                yield Event(fields.get("id"), fields.get("event"), fields.get("data"))
                fields = {}
            continue
        if line.startswith(":"):
            yield Event(None, None, None, comment=True)
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        fields[name] = f"{fields[name]}\n{value}" if name == "data" and name in fields else value


def email(label: str) -> dict[str, object]:
    return {"to": ["ada@example.com"], "subject": f"{label} {uuid.uuid4().hex[:8]}", "text": "x"}


def test_a_stream_sends_each_change_and_ends_with_the_finished_document(
    client: httpx.Client,
) -> None:
    accepted = client.post("/v1/emails", json=email("streamed"))
    assert accepted.status_code == 202, accepted.text
    events_url = accepted.json()["status_url"] + "/events"
    with client.stream("GET", events_url, timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        received = [event for event in read_events(response) if not event.comment]
    assert received, "the current document comes at once"
    assert all(event.event == "workflow" for event in received)
    ids = [event.id for event in received]
    assert len(set(ids)) == len(ids), "an unchanged document is never sent twice"
    assert received[-1].document["status"] == "succeeded", "the stream ends once finished"
    final = client.get(accepted.json()["status_url"])
    assert received[-1].id == final.headers["ETag"], "each event's id is the document's ETag"
    assert received[-1].document == final.json()


def test_reconnecting_with_the_last_event_id_repeats_nothing(client: httpx.Client) -> None:
    accepted = client.post("/v1/emails", json=email("resumed"))
    finished = wait_for_workflow(client, accepted.json()["workflow_id"])
    status_url = accepted.json()["status_url"]
    etag = client.get(status_url).headers["ETag"]

    with client.stream("GET", status_url + "/events") as again:
        assert [e.document for e in read_events(again) if not e.comment] == [finished]
    with client.stream("GET", status_url + "/events", headers={"Last-Event-ID": etag}) as resumed:
        assert resumed.status_code == 200
        assert [e for e in read_events(resumed) if not e.comment] == []


def test_a_stream_needs_a_key_and_the_tenants_own_workflow(
    system: System, client: httpx.Client
) -> None:
    accepted = client.post("/v1/emails", json=email("private"))
    events_url = accepted.json()["status_url"] + "/events"
    anonymous = httpx.get(system.api_url + events_url)
    assert anonymous.status_code == 401
    other = processes.create_api_key(system.env, "another-tenant")
    with httpx.Client(base_url=system.api_url, headers=processes.bearer(other)) as stranger:
        assert stranger.get(events_url).status_code == 404
    assert client.get(f"/v1/workflows/{uuid.uuid4()}/events").status_code == 404
    assert client.get("/v1/workflows/not-an-id/events").status_code == 404


@pytest.fixture
def celery_app(system: System) -> Iterator[Celery]:
    app = create_celery_app(
        "events-tests",
        PlatformSettings.model_validate(
            {"amqp_url": system.env["AMQP_URL"], "database_url": system.env["DATABASE_URL"]}
        ),
    )
    yield app
    app.close()


async def _unpublished_workflow(database_url: str, app: Celery) -> tuple[uuid.UUID, str]:
    """A workflow that no worker will run (its outbox message is removed): its step
    changes only when this test writes the step's result row."""
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        payload = SendEmail(to=["ada@example.com"], subject="held", text="x", tenant=TENANT)
        plan = plans.single(app, "email", payload)
        await creation.create(
            pool, plan, tenant=TENANT, request={"subject": "held"}, deadline=timedelta(hours=1)
        )
        await pool.execute("DELETE FROM api.outbox WHERE workflow_id = $1", plan.workflow_id)
        return plan.workflow_id, plan.steps[0].task_id
    finally:
        await pool.close()


async def _store_state(database_url: str, workflow_id: uuid.UUID, task_id: str, state: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO celery_taskmeta (id, task_id, status, result, date_done, date_started,"
            " workflow_id) VALUES (nextval('task_id_sequence'), $1, $2, $3,"
            " timezone('utc', now()), now(), $4) ON CONFLICT (task_id) DO UPDATE"
            " SET status = EXCLUDED.status, result = EXCLUDED.result",
            task_id,
            state,
            b'{"message_id": "<x@y>", "accepted": ["ada@example.com"], "refused": []}'
            if state == "SUCCESS"
            else b'{"pid": 1, "hostname": "test"}',
            str(workflow_id),
        )
    finally:
        await conn.close()


def test_a_quiet_stream_sends_heartbeats_and_wakes_on_the_change(
    system: System, client: httpx.Client, celery_app: Celery
) -> None:
    database_url = system.env["DATABASE_URL"]
    workflow_id, task_id = anyio.run(_unpublished_workflow, database_url, celery_app)
    received: list[tuple[float, Event]] = []

    def follow() -> None:
        with client.stream("GET", f"/v1/workflows/{workflow_id}/events", timeout=60) as answer:
            for event in read_events(answer):
                received.append((time.monotonic(), event))

    follower = threading.Thread(target=follow, daemon=True)
    began = time.monotonic()
    follower.start()
    time.sleep(17)  # past one heartbeat
    anyio.run(_store_state, database_url, workflow_id, task_id, "SUCCESS")
    stored_at = time.monotonic()
    follower.join(30)
    assert not follower.is_alive(), "the stream ended after the finished document"

    documents = [(at, e.document) for at, e in received if not e.comment]
    heartbeats = [at for at, e in received if e.comment]
    assert [d["status"] for _, d in documents] == ["queued", "succeeded"]
    assert documents[0][0] - began < 5, "the current document comes at once"
    assert heartbeats and all(at < stored_at for at in heartbeats), "a heartbeat while quiet"
    assert documents[-1][0] - stored_at < 5, "woken by the change"
