"""The ``scheduler`` command: run Celery beat with one leader, or ``migrate`` its state."""

from __future__ import annotations

import argparse
from importlib.resources import files

from alembic import command
from alembic.config import Config

from scheduler import schedules
from scheduler.config import get_settings


def alembic_config() -> Config:
    config = Config(str(files("scheduler").joinpath("alembic.ini")))
    config.set_main_option("script_location", "scheduler:migrations")
    return config


def migrate() -> None:
    """Apply the scheduler's migrations (schema ``scheduler``: beat's state)."""
    get_settings()
    command.upgrade(alembic_config(), "head")
    print("scheduler: schema at head")


def run(extra: list[str]) -> None:
    # Bad settings or SCHEDULE_<NAME> values stop here, naming the variable (exit 2).
    schedules.load(get_settings())
    from scheduler.beat import app

    app.start(["beat", "--loglevel", "INFO", *extra])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="scheduler", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    beat = sub.add_parser("run", help="run Celery beat (the default)")
    beat.add_argument("celery_args", nargs=argparse.REMAINDER)
    sub.add_parser("migrate", help="apply the scheduler's migrations (beat's state)")
    args = parser.parse_args(argv)
    if args.command == "migrate":
        migrate()
    else:
        run(getattr(args, "celery_args", []) or [])
