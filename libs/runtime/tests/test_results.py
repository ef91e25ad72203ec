"""ResultBackend without a database: its table, its URL, its engine per process.

What it stores, and how claims and rows committed with an outcome behave, is tested on
a real PostgreSQL in ``tests/test_result_backend_integration.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pytest
import sqlalchemy as sa
from celery import Celery

from switchyard_runtime.results import ResultBackend, TaskRecord


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


def test_each_process_has_its_own_pooled_engine(
    backend: ResultBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = backend.engine()
    assert backend.engine() is first
    assert cast(Any, first.pool).size() >= 4  # pooled, whatever the worker's pool type

    disposed: list[bool] = []
    monkeypatch.setattr(first, "dispose", lambda close=True: disposed.append(close))
    monkeypatch.setattr("os.getpid", lambda: -1)  # as in a forked child

    child = backend.engine()
    assert child is not first
    assert disposed == [False], "the parent's connections are left to the parent"
