"""The report worker's Celery app: ``celery -A report_worker.worker:app worker``."""

from __future__ import annotations

from typing import Any

from celery.signals import setup_logging

from contracts import create_celery_app
from contracts.logs import configure_logging
from contracts.observability import instrument_worker
from report_worker import tasks
from report_worker.config import get_settings

settings = get_settings()
app = create_celery_app("report-worker", settings)
tasks.register(app, settings)
instrument_worker(
    app, "report-worker", metrics_host=settings.metrics_host, metrics_port=settings.metrics_port
)


@setup_logging.connect
def _logging(**_: Any) -> None:
    configure_logging("report-worker")
