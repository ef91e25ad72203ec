"""One pooled database engine per worker process (created after the fork)."""

from __future__ import annotations

import os

from sqlalchemy import Engine, create_engine

from report_worker.config import get_settings

_engine: Engine | None = None
_engine_pid: int | None = None


def engine() -> Engine:
    """This process's engine; a forked child builds its own instead of sharing sockets."""
    global _engine, _engine_pid
    if _engine is None or _engine_pid != os.getpid():
        _engine = create_engine(
            get_settings().sync_database_url,
            pool_size=2,
            max_overflow=2,
            pool_pre_ping=True,
            pool_recycle=1800,
            connect_args={"options": "-c timezone=UTC", "application_name": "report-worker"},
        )
        _engine_pid = os.getpid()
    return _engine
