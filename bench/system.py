"""The system under test, started the way an operator starts it: migrations, every
service by its console script, and an API key of the benchmark's tenant; and the SMTP
sink every stack of the run sends its mail to.

Everything runs in the vhost and the database the suite made for itself; nothing here
knows another one.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support import processes
from tests.support.smtp_sink import free_port

ROOT = Path(__file__).resolve().parent.parent

#: Every long-running service, by its console script (its default command runs it).
SERVICES = ("api", "email-worker", "report-worker", "scheduler")

#: The tenant of the benchmark's API key: its workflows, deliveries and reports.
TENANT = "bench"

#: Seconds every service is left alone after start-up before its memory "at rest" is read.
SETTLE = 3.0


def service_env(amqp_url: str, database_url: str) -> dict[str, str]:
    """What every process of the run gets: the suite's vhost and database, and no limit
    on the API key's rate, held long polls or tenant's quotas (the benchmark measures the
    system, not the limiter). Pools,
    processes and concurrency are each service's defaults, as an operator gets them
    (``API_WORKERS`` one per core, the email worker's threads)."""
    return {
        "AMQP_URL": amqp_url,
        "DATABASE_URL": database_url,
        "RATE_LIMIT": "1000000/second",
        "LONG_POLLS_PER_KEY": "1000000",
        # Counted all the same (the counting is part of the submit measured), never reached.
        "QUOTA_RECIPIENTS_PER_DAY": "1000000000",
        "QUOTA_REPORTS_PER_HOUR": "1000000000",
        # No metrics endpoint: every service gets this environment, and the API's default
        # port may be held by another run.
        "METRICS_PORT": "0",
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }


def has_command(service: str, command: str) -> bool:
    """Whether ``service``'s console script offers ``command`` (``migrate``, say)."""
    result = subprocess.run(
        [str(processes.BIN / service), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return command in result.stdout


def migrate(env: Mapping[str, str]) -> None:
    """Apply every service's migrations (``api migrate`` also declares the topology)."""
    for service in SERVICES:
        if has_command(service, "migrate"):
            processes.run([service, "migrate"], env)


@dataclass
class System:
    """The running services and how to reach them."""

    api_url: str
    api_key: str
    env: dict[str, str]
    services: dict[str, processes.ServiceProcess]

    def pids(self) -> dict[str, int]:
        return {name: service.process.pid for name, service in self.services.items()}

    def check_alive(self) -> None:
        for service in self.services.values():
            if not service.alive():
                raise RuntimeError(f"{service.name} exited:\n{service.tail()}")


@contextmanager
def smtp_sink(log_dir: Path, *options: str) -> Iterator[dict[str, str]]:
    """The SMTP sink as a process of its own (``tests.support.smtp_sink``, given
    ``options``): the ``SMTP_HOST`` and ``SMTP_PORT`` every stack sends to."""
    with smtp_sink_process(log_dir, *options) as (env, _):
        yield env


@contextmanager
def smtp_sink_process(
    log_dir: Path, *options: str
) -> Iterator[tuple[dict[str, str], processes.ServiceProcess]]:
    """:func:`smtp_sink`, and the sink's process (to read its CPU)."""
    port = free_port()
    sink = processes.start(
        "smtp-sink",
        [
            Path(sys.executable).name,
            "-m",
            "tests.support.smtp_sink",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *options,
        ],
        {"PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"},
        log_dir,
    )
    try:
        processes.wait_for_log(sink, "listening on")
        yield {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port)}, sink
    finally:
        sink.stop()


@contextmanager
def running(env: Mapping[str, str], log_dir: Path) -> Iterator[System]:
    """Every service (``env`` names the SMTP server too), stopped (process groups) on the
    way out."""
    api_port = free_port()
    env = {**env, "API_HOST": "127.0.0.1", "API_PORT": str(api_port)}
    started: list[processes.ServiceProcess] = []
    try:
        services = {name: processes.start(name, [name], env, log_dir) for name in SERVICES}
        started.extend(services.values())
        for name in ("email-worker", "report-worker"):
            processes.wait_for_log(services[name], "ready.")
        api_url = f"http://127.0.0.1:{api_port}"
        processes.wait_until_ready(services["api"], f"{api_url}/readyz")
        api_key = processes.create_api_key(env, TENANT)
        time.sleep(SETTLE)
        system = System(api_url, api_key, env, services)
        system.check_alive()
        yield system
    finally:
        for service in reversed(started):
            service.stop()
