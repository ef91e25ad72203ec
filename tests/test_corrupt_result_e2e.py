"""A pickle planted in Celery's result table is corrupt data: the worker never unpickles
it; it runs a step whose planted row is not final, and fails, saying why, a step whose
planted row claims success.

Whoever can write ``celery_taskmeta`` could otherwise run code in every process that
reads it (Celery's database backend unpickles a stored value that looks like a pickle).
"""

from __future__ import annotations

import json
import os
import pickle
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from celery import Celery

from contracts import SendEmail, dispatch
from switchyard_runtime.celery_app import create_celery_app
from switchyard_runtime.settings import PlatformSettings, load_settings
from tests.conftest import System
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.e2e


class _Planted:
    """Unpickling this creates ``marker``: the proof that something unpickled it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def producer(system: System, monkeypatch: pytest.MonkeyPatch) -> Iterator[Celery]:
    monkeypatch.setenv("AMQP_URL", system.env["AMQP_URL"])
    monkeypatch.setenv("DATABASE_URL", system.env["DATABASE_URL"])
    app = create_celery_app("corrupt-producer", load_settings(PlatformSettings))
    yield app
    app.close()


def plant(database_url: str, task_id: str, status: str, marker: Path) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO celery_taskmeta (id, task_id, status, result, date_done)"
            " VALUES (nextval('task_id_sequence'), %s, %s, %s, now())",
            (task_id, status, pickle.dumps(_Planted(marker))),
        )


def row_of(database_url: str, task_id: str, timeout: float = 60) -> tuple[str, bytes]:
    """The task's row once a worker has written it over (its result is JSON)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            found = conn.execute(
                "SELECT status, result FROM celery_taskmeta WHERE task_id = %s", (task_id,)
            ).fetchone()
            if found is not None and found[1] is not None and bytes(found[1])[:1] != b"\x80":
                return str(found[0]), bytes(found[1])
            time.sleep(0.2)
    raise AssertionError(f"no worker wrote {task_id}'s row within {timeout}s")


@pytest.mark.parametrize("planted_status", ["PENDING", "STARTED", "RETRY"])
def test_a_step_queued_over_a_planted_pickle_runs_and_the_pickle_never_does(
    system: System,
    producer: Celery,
    smtp_sink: SmtpSink,
    tmp_path: Path,
    planted_status: str,
) -> None:
    marker, task_id = tmp_path / "unpickled", str(uuid.uuid4())
    subject = f"over a pickle {task_id[:8]}"
    plant(system.env["DATABASE_URL"], task_id, planted_status, marker)

    dispatch(
        producer, SendEmail(to=["ada@example.com"], subject=subject, text="x"), task_id=task_id
    )

    assert len(smtp_sink.mailbox.wait_for(subject, timeout=60)) == 1
    status, result = row_of(system.env["DATABASE_URL"], task_id)
    assert status == "SUCCESS"
    json.loads(result)
    assert not marker.exists(), "the planted pickle was unpickled"


def test_a_planted_success_fails_its_step_saying_why_and_sends_nothing(
    system: System, producer: Celery, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    marker, task_id = tmp_path / "unpickled", str(uuid.uuid4())
    subject = f"planted success {task_id[:8]}"
    plant(system.env["DATABASE_URL"], task_id, "SUCCESS", marker)

    dispatch(
        producer, SendEmail(to=["ada@example.com"], subject=subject, text="x"), task_id=task_id
    )

    status, result = row_of(system.env["DATABASE_URL"], task_id)
    assert status == "FAILURE"
    assert json.loads(result)["exc_type"] == "CorruptResult"
    assert "stored result is not JSON" in system.email_worker.logs()
    assert smtp_sink.mailbox.wait_for(subject, timeout=3) == []
    assert not marker.exists(), "the planted pickle was unpickled"
