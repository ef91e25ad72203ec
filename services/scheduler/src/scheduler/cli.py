"""The ``scheduler`` command: run Celery beat with one leader, or ``migrate`` its state."""

from __future__ import annotations

from scheduler import schedules
from scheduler.config import get_settings
from switchyard_runtime.cli import service_main

#: What ``run`` and ``migrate`` do, for ``--help``.
HELPS = ("run Celery beat", "apply the scheduler's migrations (beat's state)")


def run(extra: list[str]) -> None:
    # Bad settings or SCHEDULE_<NAME> values stop here, naming the variable (exit 2).
    schedules.load(get_settings())
    from scheduler.beat import app

    app.start(["beat", "--loglevel", "INFO", *extra])


def main(argv: list[str] | None = None) -> None:
    service_main("scheduler", __doc__, run, argv, settings=get_settings, helps=HELPS)
