"""A worker service's Celery app, made the same way for every worker.

A worker's ``worker.py`` is one call, ``app = worker_app("email-worker", get_settings(),
tasks.register)``: the app, its tasks, its log context, metrics and tracing, and its logs
in the platform's format instead of Celery's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from celery import Celery
from celery.signals import setup_logging

from switchyard_runtime.celery_app import create_celery_app
from switchyard_runtime.logs import configure_logging
from switchyard_runtime.observability import instrument_worker
from switchyard_runtime.settings import PlatformSettings, WorkerSettings

SettingsT = TypeVar("SettingsT", bound=PlatformSettings)


def worker_app(
    service: str,
    settings: SettingsT,
    register: Callable[[Celery, SettingsT], None],
    *,
    metrics: bool = True,
) -> Celery:
    """``service``'s Celery app with ``register``'s tasks, instrumented
    (:func:`switchyard_runtime.observability.instrument_worker`), logging as ``service`` once
    Celery sets its logging up.

    With ``metrics``, ``settings`` are a :class:`~switchyard_runtime.settings.WorkerSettings` and
    the worker serves its metrics at their ``METRICS_HOST``/``METRICS_PORT`` (none on 0);
    without, it serves none (the API's intake, whose metrics are the API's).
    Call it once, when the worker's module is imported (``celery -A <module>:app``).
    """
    app = create_celery_app(service, settings)
    register(app, settings)
    if metrics:
        if not isinstance(settings, WorkerSettings):
            raise TypeError(f"{service}: metrics need WorkerSettings, not {type(settings)}")
        instrument_worker(
            app, service, metrics_host=settings.metrics_host, metrics_port=settings.metrics_port
        )
    else:
        instrument_worker(app, service)

    # Connected, Celery leaves its own logging set-up to us; held strongly, since the
    # receiver is a closure no module keeps.
    def _logging(**_: Any) -> None:
        configure_logging(service)

    setup_logging.connect(_logging, weak=False)
    return app
