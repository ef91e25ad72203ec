"""The email worker's Celery app: ``celery -A email_worker.worker:app worker``."""

from __future__ import annotations

from contracts.entrypoint import worker_app
from email_worker import tasks
from email_worker.config import get_settings

app = worker_app("email-worker", get_settings(), tasks.register)
