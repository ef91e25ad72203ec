"""One pooled database engine per worker process (created after the fork)."""

from __future__ import annotations

from contracts.database import worker_engine
from report_worker.config import get_settings

#: This process's engine (each prefork child makes its own).
engine = worker_engine(get_settings, "report-worker", max_overflow=lambda _: 2)
