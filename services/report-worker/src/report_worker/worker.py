"""The report worker's Celery app: ``celery -A report_worker.worker:app worker``."""

from __future__ import annotations

from report_worker import tasks
from report_worker.config import get_settings
from switchyard_runtime.entrypoint import worker_app

app = worker_app("report-worker", get_settings(), tasks.register)
