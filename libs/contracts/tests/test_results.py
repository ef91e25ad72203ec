"""ResultBackend: date_started kept across state changes, REVOKED sticky against late updates.

Exercised on in-memory rows: ``_update_result`` only sets attributes, the session that
would store them is Celery's and is not involved here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
import sqlalchemy as sa
from celery import Celery, states

from contracts.results import ResultBackend, TaskRecord


@pytest.fixture
def backend(app: Celery, monkeypatch: pytest.MonkeyPatch) -> Iterator[ResultBackend]:
    app.conf.database_create_tables_at_setup = False

    def no_engine(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("unit tests must not open a database engine")

    monkeypatch.setattr("celery.backends.database.session.create_engine", no_engine)
    result_backend = app.backend
    assert isinstance(result_backend, ResultBackend)
    yield result_backend


def status_of(task: TaskRecord) -> str:
    """The row's status, read afresh (keeps mypy from narrowing it between updates)."""
    return str(task.status)


def test_task_record_extends_celerys_table_with_a_nullable_aware_date_started() -> None:
    table = TaskRecord.__table__
    assert isinstance(table, sa.Table)
    assert table.name == "celery_taskmeta"
    column = table.columns["date_started"]
    assert column.nullable is True
    assert isinstance(column.type, sa.DateTime)
    assert column.type.timezone is True
    # Celery's extended columns are still there.
    assert {"task_id", "status", "result", "date_done", "name", "kwargs", "queue"} <= set(
        table.columns.keys()
    )


def test_explicit_url_is_used_as_given(app: Celery) -> None:
    app.conf.database_create_tables_at_setup = False
    backend = ResultBackend(url="postgresql+psycopg://other@127.0.0.1:9/x", app=app)
    assert cast(Any, backend).url == "postgresql+psycopg://other@127.0.0.1:9/x"
    assert backend.task_cls is TaskRecord


def test_first_start_sets_date_started(backend: ResultBackend) -> None:
    task = TaskRecord("t1")
    before = datetime.now(UTC)

    backend._update_result(task, None, states.STARTED)

    assert status_of(task) == states.STARTED
    assert task.date_started is not None
    assert task.date_started.tzinfo is not None
    assert before <= task.date_started <= datetime.now(UTC)


def test_later_states_keep_the_first_start(backend: ResultBackend) -> None:
    task = TaskRecord("t2")
    backend._update_result(task, None, states.STARTED)
    first = task.date_started
    assert first is not None

    backend._update_result(task, None, states.RETRY, traceback="boom")
    assert status_of(task) == states.RETRY
    assert task.date_started == first

    backend._update_result(task, None, states.STARTED)
    assert task.date_started == first

    backend._update_result(task, {"ok": True}, states.SUCCESS)
    assert status_of(task) == states.SUCCESS
    assert task.date_started == first
    assert task.date_done is not None


def test_an_existing_start_time_is_never_replaced(backend: ResultBackend) -> None:
    task = TaskRecord("t3")
    earlier = datetime.now(UTC) - timedelta(hours=1)
    cast(Any, task).date_started = earlier

    backend._update_result(task, None, states.STARTED)

    assert task.date_started == earlier


def test_states_other_than_started_do_not_set_date_started(backend: ResultBackend) -> None:
    task = TaskRecord("t4")
    backend._update_result(task, {"x": 1}, states.SUCCESS)
    assert status_of(task) == states.SUCCESS
    assert task.date_started is None


@pytest.mark.parametrize("late", [states.STARTED, states.RETRY, states.RECEIVED, "PROGRESS"])
def test_revoked_is_sticky_against_late_non_final_updates(
    backend: ResultBackend, late: str
) -> None:
    task = TaskRecord("t5")
    backend._update_result(task, None, states.REVOKED)
    assert status_of(task) == states.REVOKED

    backend._update_result(task, None, late)

    assert status_of(task) == states.REVOKED
    assert task.date_started is None


@pytest.mark.parametrize("final", [states.SUCCESS, states.FAILURE])
def test_a_final_state_may_replace_revoked(backend: ResultBackend, final: str) -> None:
    task = TaskRecord("t6")
    backend._update_result(task, None, states.REVOKED)

    backend._update_result(task, None, final)

    assert status_of(task) == final
