"""Structured logs for every service: JSON off a terminal, readable console output on one."""

from __future__ import annotations

import logging
import os
import sys
from typing import TextIO

import structlog


def _add_process(
    _logger: object, _method: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    # What CallsiteParameterAdder's PROCESS gives, without walking the stack for the
    # call site first (a fifth of a log line's cost).
    event["process"] = os.getpid()
    return event


class _Lines:
    """structlog's output: each rendered line written to the root handler's stream, under
    its lock (so the lines never interleave with the standard library's)."""

    handler: logging.StreamHandler[TextIO] | None = None

    def msg(self, message: str) -> None:
        handler = self.handler
        if handler is None:
            return
        handler.acquire()
        try:
            handler.stream.write(message + "\n")
            handler.stream.flush()
        except (OSError, ValueError):
            pass  # a closed or broken stream: as logging's own handlers, never raise
        finally:
            handler.release()

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


_LINES = _Lines()


def configure_logging(service: str, level: str = "INFO") -> None:
    """Render structlog's and the standard library's records alike, one per line.

    structlog's own loggers render and write directly (half the cost of a line sent
    through the standard library's machinery, on every request and task); records of
    the standard library (Celery's, uvicorn's) go through its root handler with the same
    processors. Context variables bound with ``structlog.contextvars`` (request id,
    workflow id, task id, task name) appear on every line logged while they are bound.
    """
    renderer: structlog.typing.Processor
    if sys.stderr.isatty():
        renderer = structlog.dev.ConsoleRenderer()
    else:
        renderer = structlog.processors.JSONRenderer()
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_process,
    ]

    def add_service(
        _logger: object, _method: str, event: structlog.typing.EventDict
    ) -> structlog.typing.EventDict:
        event["service"] = service
        return event

    structlog.configure(
        processors=[*shared, add_service, structlog.processors.format_exc_info, renderer],
        logger_factory=lambda *_: _LINES,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[
            add_service,
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    _Lines.handler = handler
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Celery's "Task ... received": the worker's "task started" line says the same, with
    # the task's ids, a moment later; one line less per task.
    logging.getLogger("celery.worker.strategy").setLevel(max(logging.WARNING, root.level))
