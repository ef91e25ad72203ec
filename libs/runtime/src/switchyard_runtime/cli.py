"""What every service's command shares: ``run`` (the default) and ``migrate``.

A worker's or the scheduler's ``cli.py`` is :func:`service_main` given how it runs;
the API, which has more commands, uses :func:`celery_options` and :func:`worker_argv`
on its own parser.
"""

from __future__ import annotations

import argparse
import socket
from collections.abc import Callable, Sequence

from switchyard_runtime.settings import PlatformSettings


def celery_options(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    *,
    passes_on: set[str | None],
) -> tuple[argparse.Namespace, list[str]]:
    """Parse ``argv``, keeping the options ours do not know for the commands of
    ``passes_on`` (Celery's own, such as ``run --hostname email-worker-2@%h``): a
    ``REMAINDER`` does not take an option that comes first. Such options given to any
    other command are refused (exit 2), as argparse refuses them."""
    args, unknown = parser.parse_known_args(argv)
    if unknown and args.command not in passes_on:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return args, [*unknown, *(getattr(args, "celery_args", None) or [])]


def service_main(
    prog: str,
    description: str | None,
    run: Callable[[list[str]], None],
    argv: Sequence[str] | None = None,
    *,
    settings: Callable[[], PlatformSettings],
    helps: tuple[str, str],
) -> None:
    """``<prog> [run] [celery options...]`` calls ``run`` with the options; ``<prog>
    migrate`` reads ``settings()`` and applies the migrations of the package of the same
    name (:func:`switchyard_runtime.migrations.migrate`). ``helps`` says what each does."""
    run_help, migrate_help = helps
    parser = argparse.ArgumentParser(prog=prog, description=description)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help=f"{run_help} (the default)").add_argument(
        "celery_args", nargs=argparse.REMAINDER
    )
    sub.add_parser("migrate", help=migrate_help)
    args, extra = celery_options(parser, argv, passes_on={None, "run"})
    if args.command == "migrate":
        from switchyard_runtime.migrations import migrate  # alembic: only for this command

        migrate(prog.replace("-", "_"), prog, settings)
    else:
        run(extra)


def worker_argv(
    service: str, queues: str, concurrency: int, pool: str, extra: Sequence[str] = ()
) -> list[str]:
    """Celery's ``worker`` arguments for ``service``: its ``queues`` (comma separated),
    its node name ``<service>@<host>`` (the one the compose healthchecks ping), its pool;
    ``extra`` last, so that a second worker on one machine can name itself
    (``--hostname``)."""
    return [
        "worker",
        "--queues",
        queues,
        "--hostname",
        f"{service}@{socket.gethostname()}",
        "--concurrency",
        str(concurrency),
        "--pool",
        pool,
        "--loglevel",
        "INFO",
        *extra,
    ]
