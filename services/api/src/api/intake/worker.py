"""The intake's Celery app: ``api intake`` (``celery -A api.intake.worker:app worker``)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

import asyncpg
from celery import Celery, Task
from celery.signals import setup_logging

from api import db
from api.config import Settings, get_settings
from api.intake import starts
from contracts import create_celery_app
from contracts.logs import configure_logging
from contracts.observability import instrument_worker
from contracts.worker import ContractTask, backoff, payload_of
from contracts.workflows import START

T = TypeVar("T")

#: Retries of a start while the database is unreachable (first delay doubles each time).
MAX_RETRIES = 5
RETRY_BACKOFF = 1.0
RETRY_BACKOFF_MAX = 30.0


class Runtime:
    """One event loop and one small connection pool per worker process.

    The API's database code is asyncio (asyncpg); a prefork child runs it on a loop of
    its own that lives as long as the process, so pooled connections are reused. A child
    forked from a process that already had them builds its own.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._pid: int | None = None
        self._runner: asyncio.Runner | None = None
        self._pool: asyncpg.Pool | None = None

    def _ensure(self) -> tuple[asyncio.Runner, asyncpg.Pool]:
        if self._runner is None or self._pool is None or self._pid != os.getpid():
            self._runner = asyncio.Runner()
            self._pool = self._runner.run(
                db.create_pool(self._settings, size=2, application_name="api-intake")
            )
            self._pid = os.getpid()
        return self._runner, self._pool

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def pool(self) -> asyncpg.Pool:
        return self._ensure()[1]

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self._ensure()[0].run(coroutine)


def start_workflow(
    task: Task[Any, Any], app: Celery, runtime: Runtime, kwargs: dict[str, Any]
) -> dict[str, Any]:
    """Start the tick's workflow once; retried while the database is away."""
    payload = payload_of(START, task, kwargs)
    try:
        deadline = runtime.settings.deadline_of(payload.kind)
        return runtime.run(starts.start(runtime.pool, app, payload, deadline=deadline)).to_wire()
    except (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError) as exc:
        raise task.retry(
            exc=exc,
            countdown=backoff(task.request.retries, RETRY_BACKOFF, RETRY_BACKOFF_MAX),
            max_retries=MAX_RETRIES,
        ) from None


def register(app: Celery, settings: Settings) -> None:
    """Register ``workflow.start`` on ``app`` (``celery.backend_cleanup`` is Celery's own)."""
    runtime = Runtime(settings)

    @app.task(name=START.name, bind=True, base=ContractTask)
    def start(self: Task[Any, Any], *_parent_results: Any, **kwargs: Any) -> dict[str, Any]:
        return start_workflow(self, app, runtime, kwargs)


app = create_celery_app("api-intake", get_settings())
register(app, get_settings())
# Log context (task, workflow) and tracing like every worker; its metrics are the API's.
instrument_worker(app, "api-intake")


@setup_logging.connect
def _logging(**_: Any) -> None:
    configure_logging("api-intake")
