"""Session fixtures: a real broker vhost, a real database, an SMTP sink, real processes.

Like Celery's own integration suite, one set of services runs for the whole session;
each test tells its work apart by unique subjects and ids.
"""

from __future__ import annotations

import hashlib
import os
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from switchyard_runtime.database_roles import MIGRATOR, SERVICE_ROLES, role_url
from tests.support import processes
from tests.support.infra import (
    fresh_database,
    fresh_vhost,
    provide_broker,
    provide_database,
    provide_smtp_sink,
)
from tests.support.pgbouncer import PrivatePgBouncer, behind, private_pgbouncer
from tests.support.smtp_sink import SmtpSink, free_port

#: The tenant the session's API key belongs to.
TENANT = "tests"


@pytest.fixture(scope="session")
def broker() -> Iterator[tuple[str, str | None]]:
    """The test broker: its AMQP URL, and its management API's (None: rabbitmqctl)."""
    with provide_broker(os.environ) as provided:
        yield provided


@pytest.fixture(scope="session")
def amqp_url(broker: tuple[str, str | None]) -> Iterator[str]:
    """A fresh vhost on the test broker, deleted after the session."""
    with fresh_vhost(*broker) as vhost_url:
        yield vhost_url


@pytest.fixture
def bare_amqp_url(broker: tuple[str, str | None]) -> Iterator[str]:
    """Another fresh vhost, for one test: nothing declared on it, no `api migrate`."""
    with fresh_vhost(*broker, prefix="bare") as vhost_url:
        yield vhost_url


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh database on the test server, dropped after the session."""
    with provide_database(os.environ) as url, fresh_database(url) as fresh:
        yield fresh


@pytest.fixture(scope="session")
def pooler(
    database_url: str, database_roles: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrivatePgBouncer]:
    """PgBouncer in transaction mode in front of the session's database. It lets in the
    admin (first: its console's user) and every service's role."""
    admin = urllib.parse.urlsplit(database_url).username or "postgres"
    users = (admin, *(role for role in database_roles if role != admin))
    with private_pgbouncer(
        database_url, tmp_path_factory.mktemp("pgbouncer"), users=users
    ) as pgbouncer:
        yield pgbouncer


@pytest.fixture(scope="session")
def pooled(database_url: str, pooler: PrivatePgBouncer) -> dict[str, str]:
    """The admin's variables through the session's PgBouncer. Tests and migrations keep
    ``DATABASE_URL`` direct (``service_env``); the session's services run through it, each
    as its own role (``System.env_of``)."""
    return behind(pooler, database_url)


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    """Where the services send mail: in process, passed on to Mailpit with containers."""
    with provide_smtp_sink(os.environ) as sink:
        yield sink


@pytest.fixture(scope="session")
def service_env(amqp_url: str, database_url: str, smtp_sink: SmtpSink) -> dict[str, str]:
    """The environment every service process gets: the same variable names everywhere."""
    return {
        "AMQP_URL": amqp_url,
        "DATABASE_URL": database_url,
        "SMTP_HOST": smtp_sink.host,
        "SMTP_PORT": str(smtp_sink.port),
        "EMAIL_RETRY_BACKOFF": "1",
        "EMAIL_RETRY_BACKOFF_MAX": "2",
        "EMAIL_MAX_RETRIES": "3",
        "WORKER_CONCURRENCY": "2",
        # Webhook receivers in tests listen on loopback; their retries come in seconds.
        "WEBHOOK_ALLOW_PRIVATE": "true",
        "WEBHOOK_RETRY_BASE": "1",
        "WEBHOOK_RETRY_MAX": "1",
        "WEBHOOK_RETRY_FOR": "6",
        # The session's tenant sends more in a run than a tenant's default quotas allow;
        # tests/test_quotas_e2e.py gives its tenants their own.
        "QUOTA_RECIPIENTS_PER_DAY": "1000000",
        "QUOTA_REPORTS_PER_HOUR": "100000",
        # No metrics port unless a test gives one: the API's default would be shared by
        # every API a session (or a session beside it) starts.
        "METRICS_PORT": "0",
    }


@pytest.fixture(scope="session")
def database_roles(service_env: dict[str, str]) -> dict[str, str]:
    """Each service's role and the migration role, made by ``api db-roles`` as the admin
    (the session's superuser): ``{role: its DATABASE_URL on the session's database}``.

    The roles are the server's, shared with every session beside this one, and never
    dropped; their grants live in this session's database. On a server that asks for
    passwords (a container), each role's is derived from the admin's, so every session
    on that server sets the same one.
    """
    admin = service_env["DATABASE_URL"]
    roles = (*SERVICE_ROLES, MIGRATOR)
    passwords = {role: _role_password(admin, role) for role in roles}
    given = {f"DATABASE_PASSWORD_{role.upper()}": pw for role, pw in passwords.items() if pw}
    processes.run(["api", "db-roles"], {**service_env, **given})
    return {role: role_url(admin, role, passwords[role]) for role in roles}


def _role_password(admin_url: str, role: str) -> str | None:
    admin_password = urllib.parse.urlsplit(admin_url).password
    if not admin_password:
        return None
    return hashlib.sha256(f"{admin_password}:{role}".encode()).hexdigest()


@pytest.fixture(scope="session")
def migrated(service_env: dict[str, str], database_roles: dict[str, str]) -> dict[str, str]:
    """Every service's migrations, run as the migration role, as compose runs them.

    The environment returned keeps the admin's ``DATABASE_URL``: tests read and plant
    rows with it. A service started for the system gets its own role's (``System``).
    """
    as_migrator = {**service_env, "DATABASE_URL": database_roles[MIGRATOR]}
    processes.run(["api", "migrate"], as_migrator)
    processes.run(["email-worker", "migrate"], as_migrator)
    processes.run(["report-worker", "migrate"], as_migrator)
    processes.run(["scheduler", "migrate"], as_migrator)
    return service_env


@pytest.fixture(scope="session")
def worker_metrics() -> dict[str, str]:
    """Each worker's ``METRICS_PORT`` in the session: ``{service: port}``."""
    return {name: str(free_port()) for name in ("email-worker", "report-worker")}


@dataclass
class System:
    """The running services and how to reach them."""

    api_url: str
    #: Where the API serves its metrics (``METRICS_PORT``), apart from ``api_url``.
    api_metrics_url: str
    env: dict[str, str]
    #: A key of tenant ``tests``, the tenant the ``client`` fixture calls as.
    api_key: str
    api: processes.ServiceProcess
    email_worker: processes.ServiceProcess
    report_worker: processes.ServiceProcess
    #: ``api intake``: starts the workflows a scheduler asks for, cleans up results.
    api_intake: processes.ServiceProcess
    #: The admin's database variables through the session's PgBouncer.
    pooled: dict[str, str] = field(default_factory=dict)
    #: Each service's own direct ``DATABASE_URL`` (its role); ``env`` keeps the admin's,
    #: for tests that look at or plant rows.
    database_urls: dict[str, str] = field(default_factory=dict)
    #: Each role's database variables as the system's processes run: through PgBouncer.
    role_envs: dict[str, dict[str, str]] = field(default_factory=dict)

    def env_of(self, role: str) -> dict[str, str]:
        """``env`` as a service of ``role`` (``api``, ``scheduler``, ...) runs with it."""
        return {**self.env, **self.role_envs[role]}


@pytest.fixture(scope="session")
def system(
    migrated: dict[str, str],
    database_roles: dict[str, str],
    worker_metrics: dict[str, str],
    pooler: PrivatePgBouncer,
    pooled: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[System]:
    log_dir = tmp_path_factory.mktemp("service-logs")
    port = free_port()
    metrics_port = free_port()
    env = {**migrated, "API_HOST": "127.0.0.1", "API_PORT": str(port)}

    role_envs = {role: behind(pooler, url) for role, url in database_roles.items()}

    def as_role(role: str) -> dict[str, str]:
        return {**env, **role_envs[role]}

    started: list[processes.ServiceProcess] = []
    try:
        email_worker = processes.start(
            "email-worker",
            ["email-worker"],
            {**as_role("email_worker"), "METRICS_PORT": worker_metrics["email-worker"]},
            log_dir,
        )
        started.append(email_worker)
        report_worker = processes.start(
            "report-worker",
            ["report-worker"],
            {**as_role("report_worker"), "METRICS_PORT": worker_metrics["report-worker"]},
            log_dir,
        )
        started.append(report_worker)
        api = processes.start(
            "api",
            ["api"],
            # API_WORKERS as on a 2-core machine, whatever this one has.
            {**as_role("api"), "API_WORKERS": "2", "METRICS_PORT": str(metrics_port)},
            log_dir,
        )
        started.append(api)
        api_intake = processes.start("api-intake", ["api", "intake"], as_role("api"), log_dir)
        started.append(api_intake)
        processes.wait_for_log(email_worker, "ready.")
        processes.wait_for_log(report_worker, "ready.")
        processes.wait_for_log(api_intake, "ready.")
        api_url = f"http://127.0.0.1:{port}"
        processes.wait_until_ready(api, f"{api_url}/readyz")
        api_key = processes.create_api_key(env, TENANT)
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        yield System(
            api_url,
            metrics_url,
            env,
            api_key,
            api,
            email_worker,
            report_worker,
            api_intake,
            pooled=pooled,
            database_urls=database_roles,
            role_envs=role_envs,
        )
    finally:
        for service in reversed(started):
            service.stop()


def api_client(system: System, key: str | None = None) -> httpx.Client:
    """An HTTP client of the API calling with ``key`` (default: the ``tests`` tenant's)."""
    return httpx.Client(
        base_url=system.api_url,
        timeout=40,
        headers=processes.bearer(key or system.api_key),
    )


@pytest.fixture
def client(system: System) -> Iterator[httpx.Client]:
    with api_client(system) as http:
        yield http
