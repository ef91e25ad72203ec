"""The result backend on a real PostgreSQL: what it stores, claims, and rows with outcomes.

Every write is one statement; these tests read the rows back with SQL and through
Celery's own ``AsyncResult``, as a Celery user of the platform would.
"""

from __future__ import annotations

import pickle
import threading
import time
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from celery import Celery, states
from kombu.exceptions import DecodeError

from switchyard_runtime.celery_app import create_celery_app
from switchyard_runtime.results import Claim, ResultBackend, Write
from switchyard_runtime.settings import PlatformSettings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def app(migrated: dict[str, str]) -> Iterator[Celery]:
    settings = PlatformSettings.model_validate(
        {"amqp_url": migrated["AMQP_URL"], "database_url": migrated["DATABASE_URL"]}
    )
    celery_app = create_celery_app("backend-tests", settings)
    yield celery_app
    celery_app.close()


@pytest.fixture
def backend(app: Celery) -> ResultBackend:
    result_backend = app.backend
    assert isinstance(result_backend, ResultBackend)
    return result_backend


def request(task_id: str, workflow_id: str | None = "wf-tests", retries: int = 0) -> Any:
    return SimpleNamespace(
        id=task_id,
        task="email.send",
        hostname="tests@host",
        retries=retries,
        delivery_info={"routing_key": "email.send.transactional"},
        workflow_id=workflow_id,
        args=[],
        kwargs={"subject": "hi"},
        group=None,
        parent_id=None,
        stamps=None,
        chord=None,
        children=[],
    )


def row(migrated: dict[str, str], task_id: str) -> dict[str, Any]:
    with psycopg.connect(migrated["DATABASE_URL"]) as conn:
        found = conn.execute(
            "SELECT status, date_started, date_done, workflow_id, worker, name, retries"
            " FROM celery_taskmeta WHERE task_id = %s",
            (task_id,),
        ).fetchone()
    assert found is not None, task_id
    keys = ("status", "date_started", "date_done", "workflow_id", "worker", "name", "retries")
    return dict(zip(keys, found, strict=True))


def advisory_locks(migrated: dict[str, str], task_id: str) -> int:
    """Claims held on ``task_id`` (its session advisory lock), by anyone."""
    with psycopg.connect(migrated["DATABASE_URL"]) as conn:
        found = conn.execute(
            "WITH key AS (SELECT hashtextextended(%s, 0) AS k)"
            " SELECT count(*) FROM pg_locks, key WHERE locktype = 'advisory' AND granted"
            " AND classid = ((k >> 32) & 4294967295)::oid AND objid = (k & 4294967295)::oid",
            (task_id,),
        ).fetchone()
    assert found is not None
    return int(found[0])


def new_id() -> str:
    return f"backend-{uuid.uuid4()}"


def test_a_claimed_run_is_stored_started_with_its_workflow_and_first_start(
    app: Celery, backend: ResultBackend, migrated: dict[str, str]
) -> None:
    task_id = new_id()
    assert backend.claim(task_id, request(task_id)) is Claim.RUN
    started = row(migrated, task_id)
    assert started["status"] == states.STARTED
    assert started["workflow_id"] == "wf-tests"
    assert started["worker"] == "tests@host" and started["name"] == "email.send"
    assert app.AsyncResult(task_id).state == states.STARTED

    backend.store_result(task_id, None, states.RETRY, request=request(task_id))
    assert backend.claim(task_id, request(task_id, retries=1)) is Claim.RUN
    backend.store_result(task_id, {"ok": True}, states.SUCCESS, request=request(task_id))

    done = row(migrated, task_id)
    assert done["status"] == states.SUCCESS
    assert done["date_started"] == started["date_started"], "the first start is kept"
    assert done["date_done"] >= started["date_done"]
    assert done["workflow_id"] == "wf-tests"
    result = app.AsyncResult(task_id)
    assert (result.state, result.result) == (states.SUCCESS, {"ok": True})
    assert advisory_locks(migrated, task_id) == 0, "the claim ended with the stored outcome"


def test_a_second_copy_waits_for_the_first_then_skips_it(
    backend: ResultBackend, migrated: dict[str, str]
) -> None:
    task_id = new_id()
    assert backend.claim(task_id, request(task_id)) is Claim.RUN
    seen: list[tuple[Claim, float]] = []
    second = threading.Thread(
        target=lambda: seen.append((backend.claim(task_id, request(task_id)), time.monotonic()))
    )
    second.start()
    time.sleep(0.5)
    assert seen == [], "the second copy waits while the first one runs"
    stored_at = time.monotonic()
    backend.store_result(task_id, {"sent": 1}, states.SUCCESS, request=request(task_id))
    second.join(10)

    [(claim, at)] = seen
    assert claim is Claim.SUCCEEDED
    assert at >= stored_at
    assert advisory_locks(migrated, task_id) == 0


def test_a_revoked_task_is_not_claimed_and_stays_revoked(
    app: Celery, backend: ResultBackend, migrated: dict[str, str]
) -> None:
    task_id = new_id()
    with psycopg.connect(migrated["DATABASE_URL"]) as conn:
        conn.execute(
            "INSERT INTO celery_taskmeta (id, task_id, status, date_done)"
            " VALUES (nextval('task_id_sequence'), %s, 'REVOKED', now())",
            (task_id,),
        )
    assert backend.claim(task_id, request(task_id)) is Claim.REVOKED
    for late in (states.STARTED, states.RETRY, states.RECEIVED, "PROGRESS"):
        backend.store_result(task_id, None, late, request=request(task_id))
        assert row(migrated, task_id)["status"] == states.REVOKED, late
    assert row(migrated, task_id)["date_started"] is None
    # A final state may still replace it (the step was running after all).
    backend.store_result(task_id, {"late": True}, states.SUCCESS, request=request(task_id))
    assert app.AsyncResult(task_id).state == states.SUCCESS
    assert advisory_locks(migrated, task_id) == 0


def test_a_success_is_never_written_over(app: Celery, backend: ResultBackend) -> None:
    task_id = new_id()
    backend.store_result(task_id, {"first": True}, states.SUCCESS, request=request(task_id))
    backend.store_result(task_id, {"again": True}, states.FAILURE, request=request(task_id))
    backend.store_result(task_id, {"again": True}, states.SUCCESS, request=request(task_id))
    result = app.AsyncResult(task_id)
    assert (result.state, result.result) == (states.SUCCESS, {"first": True})
    assert backend.claim(task_id, request(task_id)) is Claim.SUCCEEDED


def test_rows_handed_over_are_written_with_the_outcome_and_only_then(
    backend: ResultBackend, migrated: dict[str, str]
) -> None:
    with psycopg.connect(migrated["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS backend_test_rows (task_id text, note text)")
    task_id = new_id()

    def note(text: str) -> Write:
        return Write(
            "INSERT INTO backend_test_rows (task_id, note) VALUES (%s, %s)", (task_id, text)
        )

    def notes() -> list[str]:
        with psycopg.connect(migrated["DATABASE_URL"]) as conn:
            rows = conn.execute(
                "SELECT note FROM backend_test_rows WHERE task_id = %s ORDER BY note", (task_id,)
            ).fetchall()
        return [note for (note,) in rows]

    assert backend.claim(task_id, request(task_id)) is Claim.RUN
    backend.commit_with_outcome(task_id, [note("a")])
    backend.store_result(task_id, {"p": 1}, "PROGRESS", request=request(task_id))
    assert notes() == [], "progress is not the outcome"
    backend.commit_with_outcome(task_id, [note("b")])
    backend.store_result(task_id, {"done": True}, states.SUCCESS, request=request(task_id))
    assert notes() == ["a", "b"]
    assert row(migrated, task_id)["status"] == states.SUCCESS


def test_a_run_that_stores_nothing_releases_its_claim(
    backend: ResultBackend, migrated: dict[str, str]
) -> None:
    task_id = new_id()
    assert backend.claim(task_id, request(task_id)) is Claim.RUN
    assert advisory_locks(migrated, task_id) == 1
    backend.release(task_id)
    assert advisory_locks(migrated, task_id) == 0
    assert backend.claim(task_id, request(task_id)) is Claim.RUN
    backend.release(task_id)


def test_a_pickled_result_is_refused_never_unpickled(app: Celery, migrated: dict[str, str]) -> None:
    task_id = new_id()
    with psycopg.connect(migrated["DATABASE_URL"]) as conn:
        conn.execute(
            "INSERT INTO celery_taskmeta (id, task_id, status, result, date_done)"
            " VALUES (nextval('task_id_sequence'), %s, 'SUCCESS', %s, now())",
            (task_id, pickle.dumps({"unpickled": True})),
        )
    with pytest.raises(DecodeError):
        app.AsyncResult(task_id).get(timeout=5, propagate=True)
