"""One pooled database engine per worker process (created after the fork)."""

from __future__ import annotations

from report_worker.config import get_settings
from switchyard_runtime.database import worker_engine

#: This process's engine (each prefork child makes its own).
engine = worker_engine(get_settings, "report-worker", max_overflow=lambda _: 2)
