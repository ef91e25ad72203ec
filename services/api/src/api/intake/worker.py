"""The intake's Celery app: ``api intake`` (``celery -A api.intake.worker:app worker``).

It runs the API's own tasks, those that need the API's database: ``workflow.start``
(queue ``api.intake``) and ``webhook.deliver`` (queue ``webhooks.deliver``).
"""

from __future__ import annotations

from typing import Any

import asyncpg
from celery import Celery, Task

from api.config import Settings, get_settings
from api.intake import starts
from api.intake.lost_messages import LostMessageHandler, LostMessages
from api.intake.runtime import Runtime
from api.webhooks import task as webhooks
from contracts.webhooks import DELIVER
from contracts.workflows import START
from switchyard_runtime.entrypoint import worker_app
from switchyard_runtime.worker import ContractTask, backoff, payload_of

#: Retries of a start while the database is unreachable (first delay doubles each time).
MAX_RETRIES = 5
RETRY_BACKOFF = 1.0
RETRY_BACKOFF_MAX = 30.0


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
    """Register ``workflow.start`` and ``webhook.deliver`` on ``app``
    (``celery.backend_cleanup`` is Celery's own), and the consumer of lost messages
    (:mod:`api.intake.lost_messages`)."""
    runtime = Runtime(settings)

    @app.task(name=START.name, bind=True, base=ContractTask)
    def start(self: Task[Any, Any], *_parent_results: Any, **kwargs: Any) -> dict[str, Any]:
        return start_workflow(self, app, runtime, kwargs)

    # Retried until the delivery's window closes (webhooks.task), not a number of times.
    @app.task(name=DELIVER.name, bind=True, base=ContractTask, max_retries=None)
    def deliver(self: Task[Any, Any], *_parent_results: Any, **kwargs: Any) -> dict[str, Any]:
        return webhooks.deliver(self, runtime, kwargs)

    # Messages lost on the broker fail their workflows (in the worker's main process).
    app.steps["consumer"].add(LostMessages.bound_to(LostMessageHandler(app, settings)))


# Log context (task, workflow) and tracing like every worker; its metrics are the API's.
app = worker_app("api-intake", get_settings(), register, metrics=False)
