"""The ``report-worker`` command: run the worker on the reports queue."""

from __future__ import annotations

import argparse
import socket

from report_worker.config import get_settings


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
    args = parser.parse_args(argv)
    run(getattr(args, "celery_args", []) or [])
