"""The scheduler's Celery app: ``celery -A scheduler.beat:app beat``."""

from __future__ import annotations

from typing import Any

from celery.signals import setup_logging

from contracts import create_celery_app
from contracts.logs import configure_logging
from scheduler.config import get_settings

app = create_celery_app("scheduler", get_settings())


@setup_logging.connect
def _logging(**_: Any) -> None:
    configure_logging("scheduler")
