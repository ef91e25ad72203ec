"""One pooled database engine per worker process (created after a fork), shared by its
threads: what the email worker reads itself (the reports it attaches)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import structlog
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from email_worker.config import get_settings
from switchyard_runtime.database import worker_engine

log = structlog.get_logger(__name__)

T = TypeVar("T")

#: How long a task waits for the database to come back (a restart, a failover).
PATIENCE = 60.0

#: This process's engine: what the email worker reads itself (the reports it attaches),
#: with a connection beyond the two kept for each thread that may want one.
engine = worker_engine(
    get_settings, "email-worker", max_overflow=lambda settings: settings.worker_concurrency
)


def unreachable(error: DBAPIError) -> bool:
    """Whether ``error`` says the database cannot be reached, rather than refused a query."""
    return error.connection_invalidated or isinstance(error, OperationalError | InterfaceError)


def patiently(
    operation: Callable[[], T],
    patience: float = PATIENCE,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Run ``operation``, again and again while the database cannot be reached.

    A delivery the SMTP server accepted must be recorded, or a redelivered task would
    send it again; and an outage is no reason to fail an email that was not sent yet.
    """
    deadline = clock() + patience
    delay = 0.25
    while True:
        try:
            return operation()
        except DBAPIError as error:
            if not unreachable(error) or clock() + delay > deadline:
                raise
            log.warning("database unreachable; retrying", error=str(error.orig), delay=delay)
        sleep(delay)
        delay = min(delay * 2, 5.0)
