"""The ``report-worker`` command: run the worker on the reports queue, or ``migrate``."""

from __future__ import annotations

import argparse
import socket
from importlib.resources import files

from alembic import command
from alembic.config import Config

from report_worker.config import get_settings


def alembic_config() -> Config:
    config = Config(str(files("report_worker").joinpath("alembic.ini")))
    config.set_main_option("script_location", "report_worker:migrations")
    return config


def migrate() -> None:
    """Apply the report worker's migrations (schema ``report_worker``)."""
    get_settings()
    command.upgrade(alembic_config(), "head")
    print("report-worker: schema at head")


def run(extra: list[str]) -> None:
    settings = get_settings()
    from report_worker.worker import app

    app.worker_main(
        [
            "worker",
            "--queues",
            settings.report_queues,
            "--hostname",
            f"report-worker@{socket.gethostname()}",
            "--concurrency",
            str(settings.worker_concurrency),
            "--pool",
            "prefork",
            "--loglevel",
            "INFO",
            *extra,
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="report-worker", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    worker = sub.add_parser("run", help="consume the reports queue (the default)")
    worker.add_argument("celery_args", nargs=argparse.REMAINDER)
    sub.add_parser("migrate", help="apply the report worker's migrations")
    # Celery's own options (``run --hostname email-worker-2@%h``) are not ours to know:
    # a REMAINDER does not take an option that comes first, so they are passed on as is.
    args, celery_options = parser.parse_known_args(argv)
    if args.command == "migrate":
        if celery_options:
            parser.error(f"unrecognized arguments: {' '.join(celery_options)}")
        migrate()
    else:
        run([*celery_options, *(getattr(args, "celery_args", []) or [])])
