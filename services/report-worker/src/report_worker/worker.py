"""The report worker's Celery app: ``celery -A report_worker.worker:app worker``."""

from __future__ import annotations

from contracts.entrypoint import worker_app
from report_worker import tasks
from report_worker.config import get_settings

app = worker_app("report-worker", get_settings(), tasks.register)
