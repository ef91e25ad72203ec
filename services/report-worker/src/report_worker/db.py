"""One pooled database engine per worker process (created after the fork)."""

from __future__ import annotations

import os

from sqlalchemy import Engine

from contracts.database import pooled_engine
from report_worker.config import get_settings

_engine: Engine | None = None
_engine_pid: int | None = None


def engine() -> Engine:
    """This process's engine; a forked child builds its own instead of sharing sockets."""
    global _engine, _engine_pid
    if _engine is None or _engine_pid != os.getpid():
        _engine = pooled_engine(
            get_settings(),
            "report-worker",
            pool_size=2,
            max_overflow=2,
            pool_pre_ping=True,
            pool_recycle=1800,
        )
        _engine_pid = os.getpid()
    return _engine
