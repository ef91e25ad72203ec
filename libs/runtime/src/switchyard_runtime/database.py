"""psycopg 3 engines that work direct and through PgBouncer's transaction mode.

Two things a transaction pooler (PgBouncer 1.18, Debian's) does not carry from one
transaction to the next server connection: prepared statements, and startup parameters
other than the few it tracks (``options`` is refused at login). So on a pooled URL
psycopg prepares nothing (``prepare_threshold=None``), and every engine sets its session
time zone with ``SET TIME ZONE`` on connect rather than ``-c timezone=UTC`` in
``options``: ``TimeZone`` is one of the parameters PgBouncer tracks per client and sets
again on each server connection it hands that client. Naive columns (Celery's
``date_done``) are then stored in UTC whatever the server's zone, pooled or not.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event

from switchyard_runtime.settings import PlatformSettings

SettingsT = TypeVar("SettingsT", bound=PlatformSettings)


def connect_args(application_name: str, *, pooled: bool) -> dict[str, Any]:
    """psycopg's connection arguments: named in ``pg_stat_activity``, and no prepared
    statements when the connection goes through a transaction pooler."""
    args: dict[str, Any] = {"application_name": application_name}
    if pooled:
        args["prepare_threshold"] = None
    return args


def _utc(dbapi_connection: Any, _record: Any) -> None:
    # A fresh psycopg connection is idle, outside a transaction: the SET holds for the
    # session (and, through PgBouncer, for the client).
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'UTC'")
    if not dbapi_connection.autocommit:
        dbapi_connection.commit()


def in_utc(engine: Engine) -> Engine:
    """``engine``, each of whose new connections sets its time zone to UTC."""
    event.listen(engine, "connect", _utc)
    return engine


def pooled_engine(settings: PlatformSettings, application_name: str, **options: Any) -> Engine:
    """An engine on ``DATABASE_URL`` (maybe through a transaction pooler), in UTC."""
    args = {
        **options.pop("connect_args", {}),
        **connect_args(application_name, pooled=settings.transaction_pooled),
    }
    return in_utc(create_engine(settings.sync_database_url, connect_args=args, **options))


def per_process(make: Callable[[], Engine]) -> Callable[[], Engine]:
    """A function returning this process's engine, made by ``make`` on first use and
    again in each forked child, which must not share its parent's sockets."""
    engine: Engine | None = None
    pid: int | None = None

    def current() -> Engine:
        nonlocal engine, pid
        if engine is None or pid != os.getpid():
            engine = make()
            pid = os.getpid()
        return engine

    return current


def worker_engine(
    settings: Callable[[], SettingsT],
    application_name: str,
    *,
    max_overflow: Callable[[SettingsT], int],
) -> Callable[[], Engine]:
    """A worker's own engine on ``DATABASE_URL``, one per process (:func:`per_process`):
    two connections kept and ``max_overflow(settings)`` more at most, each checked before
    use and replaced after half an hour. ``settings`` is called when it is first made."""

    def make() -> Engine:
        current = settings()
        return pooled_engine(
            current,
            application_name,
            pool_size=2,
            max_overflow=max_overflow(current),
            pool_pre_ping=True,
            pool_recycle=1800,
        )

    return per_process(make)
