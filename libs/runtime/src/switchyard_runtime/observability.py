"""What a worker reports about its tasks: log context, Prometheus metrics, traces.

:func:`instrument_worker` connects Celery's signals once per worker process:

- every log line a task writes carries its ``request_id`` and ``workflow_id`` (from the
  task message's headers, set by the API) and its ``task_id`` and ``task_name``, bound as
  structlog context variables from ``task_prerun`` to ``task_postrun``;
- with a metrics port, task outcomes, durations, retries and dead-lettered messages are
  counted in each pool process and served by the main one with the depth and consumers
  of every queue of the system (:mod:`switchyard_runtime.metrics`);
- with an OTLP endpoint configured, each pool process traces its tasks
  (:mod:`switchyard_runtime.tracing`, set up in ``worker_process_init``, after the fork).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import structlog
from celery import Celery, signals
from celery.exceptions import Reject

from switchyard_runtime import tracing

log = structlog.get_logger("switchyard_runtime.worker")

#: Celery's final task states, as the outcome label of the task metrics.
OUTCOMES = {
    "SUCCESS": "succeeded",
    "FAILURE": "failed",
    "RETRY": "retried",
    "IGNORED": "ignored",
    "REJECTED": "rejected",
}


def task_context(task: Any, task_id: str) -> dict[str, str | None]:
    """The ids a task's log lines carry; the API puts the first two in the headers."""
    request = task.request
    return {
        "request_id": request.get("request_id"),
        "workflow_id": request.get("workflow_id"),
        "task_id": task_id,
        "task_name": task.name,
    }


class WorkerInstruments:
    """The signal receivers of one worker process (and the pool children it forks)."""

    def __init__(self, app: Celery, service: str, metrics_host: str, metrics_port: int) -> None:
        self.app = app
        self.service = service
        self.metrics_host = metrics_host
        self.metrics_port = metrics_port
        self.metrics: Any = None
        self._multiproc_dir: tuple[Path, bool] | None = None
        self._server: Any = None
        self._started: dict[str, float] = {}

    def connect(self) -> None:
        if self.metrics_port:
            from switchyard_runtime import metrics

            self._multiproc_dir = metrics.prepare_multiprocess_dir(self.service)
            self.metrics = metrics.TaskMetrics()
            signals.worker_init.connect(self.on_worker_init, weak=False)
            signals.worker_shutdown.connect(self.on_worker_shutdown, weak=False)
            signals.task_retry.connect(self.on_task_retry, weak=False)
            signals.task_unknown.connect(self.on_task_unknown, weak=False)
            signals.task_rejected.connect(self.on_task_rejected, weak=False)
        signals.task_prerun.connect(self.on_task_prerun, weak=False)
        signals.task_postrun.connect(self.on_task_postrun, weak=False)
        signals.worker_process_init.connect(self.on_process_init, weak=False)
        signals.worker_process_shutdown.connect(self.on_process_shutdown, weak=False)

    # --- main process ---------------------------------------------------------------

    def on_worker_init(self, **_: Any) -> None:
        from switchyard_runtime import metrics

        depths = metrics.QueueDepths(self.app, metrics.system_queues)
        self._server = metrics.serve(self.metrics_host, self.metrics_port, [depths])
        log.info("metrics endpoint listening", host=self.metrics_host, port=self.metrics_port)

    def on_worker_shutdown(self, **_: Any) -> None:
        if self._server is not None:
            server, _thread = self._server
            server.shutdown()
            self._server = None
        if self._multiproc_dir is not None and self._multiproc_dir[1]:
            from switchyard_runtime import metrics

            metrics.remove_multiprocess_dir(self._multiproc_dir[0])

    def on_task_unknown(self, name: str | None = None, **_: Any) -> None:
        self.metrics.dead_lettered.labels(name or "", "UnknownTask").inc()

    def on_task_rejected(self, message: Any = None, exc: Any = None, **_: Any) -> None:
        headers = getattr(message, "headers", None)
        task = headers.get("task") if isinstance(headers, dict) else None
        reason = type(exc).__name__ if exc is not None else "InvalidMessage"
        self.metrics.dead_lettered.labels(str(task or ""), reason).inc()

    # --- pool processes -------------------------------------------------------------

    def on_process_init(self, **_: Any) -> None:
        if tracing.configure_tracing(self.service):
            tracing.instrument_celery()

    def on_process_shutdown(self, **_: Any) -> None:
        tracing.shutdown()
        if self.metrics is not None:
            from switchyard_runtime import metrics

            metrics.mark_process_dead(os.getpid())

    def on_task_prerun(self, task_id: str = "", task: Any = None, **_: Any) -> None:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(**task_context(task, task_id))
        self._started[task_id] = time.monotonic()
        log.info("task started", attempt=(task.request.retries or 0) + 1)

    def on_task_postrun(
        self, task_id: str = "", task: Any = None, state: str | None = None, **kwargs: Any
    ) -> None:
        started = self._started.pop(task_id, None)
        seconds = None if started is None else time.monotonic() - started
        outcome = OUTCOMES.get(state or "", (state or "unknown").lower())
        try:
            log.info("task finished", outcome=outcome, duration_s=seconds)
            if self.metrics is not None:
                self.metrics.finished(task.name, outcome, seconds)
                retval = kwargs.get("retval")
                if isinstance(retval, Reject) and not getattr(retval, "requeue", False):
                    self.metrics.dead_lettered.labels(task.name, "rejected").inc()
        finally:
            structlog.contextvars.clear_contextvars()

    def on_task_retry(self, sender: Any = None, **_: Any) -> None:
        self.metrics.retries.labels(getattr(sender, "name", None) or "").inc()


def instrument_worker(
    app: Celery, service: str, *, metrics_host: str = "127.0.0.1", metrics_port: int = 0
) -> WorkerInstruments:
    """Log context, metrics (with ``metrics_port``) and tracing for ``app``'s worker.

    Call it once when the worker's module is imported, before the worker starts (and
    before anything imports ``prometheus_client``).
    """
    instruments = WorkerInstruments(app, service, metrics_host, metrics_port)
    instruments.connect()
    return instruments
