"""The email worker's Celery app: ``celery -A email_worker.worker:app worker``."""

from __future__ import annotations

from typing import Any

from celery.signals import setup_logging

from contracts import create_celery_app
from contracts.logs import configure_logging
from contracts.observability import instrument_worker
from email_worker import tasks
from email_worker.config import get_settings

settings = get_settings()
app = create_celery_app("email-worker", settings)
tasks.register(app, settings)
instrument_worker(
    app, "email-worker", metrics_host=settings.metrics_host, metrics_port=settings.metrics_port
)


@setup_logging.connect
def _logging(**_: Any) -> None:
    configure_logging("email-worker")
