"""A test-only email worker whose pool process dies on a poison email, every time.

The app comes from the shared factory and runs the email worker's own ``email.send``;
an email whose subject contains :data:`POISON` makes the pool process ``os._exit`` in
the middle of it, as a segfault in a C library or the OOM killer would.

    celery -A tests.faults.dying_worker:app worker -Q email.transactional
"""

from __future__ import annotations

import os
from typing import Any

from celery import Task
from celery.signals import setup_logging

from contracts.email import SEND
from email_worker.config import get_settings
from email_worker.tasks import send_email
from switchyard_runtime.celery_app import create_celery_app
from switchyard_runtime.logs import configure_logging
from switchyard_runtime.worker import ContractTask

POISON = "[poison]"

settings = get_settings()
app = create_celery_app("dying-email-worker", settings)


@app.task(name=SEND.name, bind=True, base=ContractTask)
def send(self: Task[Any, Any], *_parent_results: Any, **kwargs: Any) -> dict[str, Any]:
    if POISON in str(kwargs.get("subject", "")):
        os._exit(70)
    return send_email(self, settings, kwargs)


@setup_logging.connect
def _logging(**_: Any) -> None:
    configure_logging("dying-email-worker")
