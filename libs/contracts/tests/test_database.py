"""contracts.database: the psycopg engines' arguments, direct and through a pooler."""

from __future__ import annotations

from contracts import PlatformSettings
from contracts.database import connect_args, pooled_engine


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
