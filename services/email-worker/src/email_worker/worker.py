"""The email worker's Celery app: ``celery -A email_worker.worker:app worker``."""

from __future__ import annotations

from email_worker import tasks
from email_worker.config import get_settings
from switchyard_runtime.entrypoint import worker_app

app = worker_app("email-worker", get_settings(), tasks.register)
