"""switchyard_runtime.database: the psycopg engines' arguments, direct and through a pooler."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import Engine, create_engine

from switchyard_runtime.database import connect_args, per_process, pooled_engine, worker_engine
from switchyard_runtime.settings import PlatformSettings, WorkerSettings


def test_direct_connections_keep_psycopg_prepared_statements() -> None:
    assert connect_args("email-worker", pooled=False) == {"application_name": "email-worker"}


def test_pooled_connections_prepare_nothing() -> None:
    assert connect_args("email-worker", pooled=True) == {
        "application_name": "email-worker",
        "prepare_threshold": None,
    }


def test_a_pooled_engine_takes_database_url_and_sends_no_options() -> None:
    settings = PlatformSettings(
        database_url="postgresql://u@pgbouncer:6432/d",
        database_session_url="postgresql://u@db:5432/d",
        database_pooler="transaction",
    )
    engine = pooled_engine(settings, "report-worker", pool_size=2)
    assert engine.url.host == "pgbouncer"
    assert engine.url.port == 6432
    engine.dispose()


def test_each_process_has_its_own_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[Engine] = []

    def make() -> Engine:
        made.append(create_engine("postgresql+psycopg://u@127.0.0.1:9/d"))
        return made[-1]

    engine = per_process(make)
    assert engine() is engine() is made[0]
    monkeypatch.setattr(os, "getpid", lambda: -1)  # as in a forked child
    assert engine() is made[1] is not made[0]
    assert engine() is made[1]
    for one in made:
        one.dispose()


def test_a_worker_engine_is_sized_from_its_settings_when_first_used() -> None:
    read: list[WorkerSettings] = []

    def settings() -> WorkerSettings:
        read.append(WorkerSettings(database_url="postgresql://u@db:5432/d", worker_concurrency=5))
        return read[-1]

    engine = worker_engine(settings, "email-worker", max_overflow=lambda s: s.worker_concurrency)
    assert read == []
    made = engine()
    assert made.url.host == "db"
    assert made.pool.size() == 2  # type: ignore[attr-defined]
    assert made.pool._max_overflow == 5  # type: ignore[attr-defined]
    assert len(read) == 1
    made.dispose()
