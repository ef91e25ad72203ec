"""Session fixtures: a real broker vhost, a real database, an SMTP sink, real processes.

Like Celery's own integration suite, one set of services runs for the whole session;
each test tells its work apart by unique subjects and ids.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.support import processes
from tests.support.infra import (
    fresh_database,
    fresh_vhost,
    provide_broker,
    provide_database,
    provide_smtp_sink,
)
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
def migrated(service_env: dict[str, str]) -> dict[str, str]:
    processes.run(["api", "migrate"], service_env)
    processes.run(["email-worker", "migrate"], service_env)
    processes.run(["report-worker", "migrate"], service_env)
    processes.run(["scheduler", "migrate"], service_env)
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


@pytest.fixture(scope="session")
def system(
    migrated: dict[str, str],
    worker_metrics: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[System]:
    log_dir = tmp_path_factory.mktemp("service-logs")
    port = free_port()
    metrics_port = free_port()
    env = {**migrated, "API_HOST": "127.0.0.1", "API_PORT": str(port)}
    started: list[processes.ServiceProcess] = []
    try:
        email_worker = processes.start(
            "email-worker",
            ["email-worker"],
            {**env, "METRICS_PORT": worker_metrics["email-worker"]},
            log_dir,
        )
        started.append(email_worker)
        report_worker = processes.start(
            "report-worker",
            ["report-worker"],
            {**env, "METRICS_PORT": worker_metrics["report-worker"]},
            log_dir,
        )
        started.append(report_worker)
        api = processes.start(
            "api",
            ["api"],
            # API_WORKERS as on a 2-core machine, whatever this one has.
            {**env, "API_WORKERS": "2", "METRICS_PORT": str(metrics_port)},
            log_dir,
        )
        started.append(api)
        api_intake = processes.start("api-intake", ["api", "intake"], env, log_dir)
        started.append(api_intake)
        processes.wait_for_log(email_worker, "ready.")
        processes.wait_for_log(report_worker, "ready.")
        processes.wait_for_log(api_intake, "ready.")
        api_url = f"http://127.0.0.1:{port}"
        processes.wait_until_ready(api, f"{api_url}/readyz")
        api_key = processes.create_api_key(env, TENANT)
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        yield System(
            api_url, metrics_url, env, api_key, api, email_worker, report_worker, api_intake
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
