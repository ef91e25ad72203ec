"""The ``scheduler`` command: run Celery beat on the shared app."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from scheduler.config import get_settings


def run(extra: list[str]) -> None:
    get_settings()
    from scheduler.beat import app

    state = Path(tempfile.gettempdir()) / "scheduler-beat-state"
    app.start(["beat", "--loglevel", "INFO", "--schedule", str(state), *extra])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="scheduler", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    beat = sub.add_parser("run", help="run Celery beat (the default)")
    beat.add_argument("celery_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    run(getattr(args, "celery_args", []) or [])
