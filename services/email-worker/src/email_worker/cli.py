"""The ``email-worker`` command: run the worker on the email queues, or ``migrate``."""

from __future__ import annotations

from email_worker.config import get_settings
from switchyard_runtime.cli import service_main, worker_argv

#: What ``run`` and ``migrate`` do, for ``--help``.
HELPS = ("consume the email queues", "apply the email worker's migrations")


def run(extra: list[str]) -> None:
    settings = get_settings()
    from email_worker.worker import app

    queues, pool = settings.email_queues, settings.worker_pool
    app.worker_main(worker_argv("email-worker", queues, settings.worker_concurrency, pool, extra))


def main(argv: list[str] | None = None) -> None:
    service_main("email-worker", __doc__, run, argv, settings=get_settings, helps=HELPS)
