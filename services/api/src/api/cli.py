"""The ``api`` command: ``api`` (or ``api serve``) runs the server, ``api migrate`` the schema,
``api intake`` the worker that starts workflows sent by task name (the scheduler's) and
delivers webhooks, ``api db-roles`` (as the database's admin) every service's PostgreSQL
role."""

from __future__ import annotations

import argparse
import socket
import sys

import uvicorn

from api import serving
from api.access import admin
from api.config import Settings, get_settings
from contracts import webhooks, workflows
from switchyard_runtime import database_roles
from switchyard_runtime.celery_app import create_celery_app, declare_topology, prepare_result_store
from switchyard_runtime.cli import celery_options, worker_argv
from switchyard_runtime.logs import configure_logging
from switchyard_runtime.metrics import (
    mark_process_dead,
    prepare_multiprocess_dir,
    remove_multiprocess_dir,
)
from switchyard_runtime.migrations import upgrade
from switchyard_runtime.settings import load_settings


def migrate() -> None:
    """Create Celery's result tables, apply the API's migrations (which add the result
    table's trigger), declare the topology."""
    settings = get_settings()
    app = create_celery_app("api-migrate", settings)
    prepare_result_store(app)
    upgrade("api")
    declare_topology(app)
    app.close()
    print("api: schema at head, result tables ready, broker topology declared")


def db_roles() -> None:
    """Create every service's role and the migration role (idempotent), as the admin
    ``DATABASE_URL`` names; each role's password from ``DATABASE_PASSWORD_<ROLE>``."""
    settings = load_settings(database_roles.DatabaseRoleSettings)
    database_roles.bootstrap(str(settings.database_url), settings.passwords())
    print(
        f"api: database roles {', '.join(database_roles.ROLES)} ready;"
        f" {database_roles.MIGRATOR} may create this database's schemas"
    )


def serve() -> None:
    """Run ``API_WORKERS`` server processes on one port, and their metrics on another.

    Their metrics are added up across processes (multiprocess mode, prepared here before
    anything imports ``prometheus_client``; the worker processes inherit it).
    """
    settings = get_settings()
    path, made = prepare_multiprocess_dir("api")
    configure_logging("api")
    config = uvicorn.Config(
        "api.main:serve_app",
        factory=True,
        host=settings.api_host,
        port=settings.api_port,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        # Held requests (long polls, streams) are cut this long after a SIGTERM; their
        # clients reconnect to another process or replica.
        timeout_graceful_shutdown=10,
    )
    try:
        serving.run(config, settings.api_workers, metrics(settings), on_exit=mark_process_dead)
    finally:
        if made:
            remove_multiprocess_dir(path)


def metrics(settings: Settings) -> tuple[uvicorn.Config, socket.socket] | None:
    """The metrics server and its socket, bound here so that a port in use stops the API
    at start-up, naming ``METRICS_PORT``; ``None`` when it is 0."""
    if not settings.metrics_port:
        return None
    from api.metrics import exposition  # imports prometheus_client: after the directory

    host, port = settings.metrics_host, settings.metrics_port
    try:
        sock = socket.create_server((host, port), family=_family(host))
    except OSError as error:
        sys.stderr.write(f"METRICS_PORT: cannot listen on {host}:{port}: {error}\n")
        raise SystemExit(2) from None
    config = uvicorn.Config(
        exposition(),
        lifespan="off",
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
    )
    return config, sock


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def intake(extra: list[str]) -> None:
    """Consume ``api.intake`` (``workflow.start``, Celery's result clean-up) and
    ``webhooks.deliver``; ``api intake --queues webhooks.deliver`` runs one for webhooks
    alone (Celery takes the last ``--queues``)."""
    settings = get_settings()
    from api.intake.worker import app

    queues = f"{workflows.QUEUE.name},{webhooks.QUEUE.name}"
    app.worker_main(
        worker_argv("api-intake", queues, settings.worker_concurrency, "prefork", extra)
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="api", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve", help="run the HTTP server (the default)")
    sub.add_parser("migrate", help="apply migrations and declare the broker topology")
    sub.add_parser("db-roles", help="create the services' database roles (as the admin)")
    worker = sub.add_parser("intake", help="run the worker that starts scheduled workflows")
    worker.add_argument("celery_args", nargs=argparse.REMAINDER)
    admin.add_commands(sub)
    # Celery's own options (``intake --queues webhooks.deliver``) are passed on as is.
    args, extra = celery_options(parser, argv, passes_on={"intake"})
    if args.command in ("keys", "quotas"):
        raise SystemExit(admin.run(args))
    if args.command == "migrate":
        migrate()
    elif args.command == "db-roles":
        db_roles()
    elif args.command == "intake":
        intake(extra)
    else:
        serve()
