"""The ``report-worker`` command: run the worker on the reports queue, or ``migrate``."""

from __future__ import annotations

from report_worker.config import get_settings
from switchyard_runtime.cli import service_main, worker_argv

#: What ``run`` and ``migrate`` do, for ``--help``.
HELPS = ("consume the reports queue", "apply the report worker's migrations")


def run(extra: list[str]) -> None:
    settings = get_settings()
    from report_worker.worker import app

    queues, concurrency = settings.report_queues, settings.worker_concurrency
    app.worker_main(worker_argv("report-worker", queues, concurrency, "prefork", extra))


def main(argv: list[str] | None = None) -> None:
    service_main("report-worker", __doc__, run, argv, settings=get_settings, helps=HELPS)
