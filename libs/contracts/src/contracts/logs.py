"""Structured logs for every service: JSON off a terminal, readable console output on one."""

from __future__ import annotations

import logging
import os
import sys

import structlog


def _add_process(
    _logger: object, _method: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    # What CallsiteParameterAdder's PROCESS gives, without walking the stack for the
    # call site first (a fifth of a log line's cost).
    event["process"] = os.getpid()
    return event


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route structlog and the standard library through one renderer.

    Context variables bound with ``structlog.contextvars`` (request id, workflow id, task
    id, task name) appear on every line logged while they are bound.
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
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[
            lambda _, __, event: {**event, "service": service},
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
