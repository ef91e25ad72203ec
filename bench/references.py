"""The two references the product is measured against, started as processes: the
tutorial stack (``bench.tutorial``) on a vhost and a database of its own, and the
ceiling (``bench.ceiling``) on the product's database.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from bench.system import ROOT
from tests.support import processes
from tests.support.smtp_sink import free_port

#: Prefork processes of the tutorial's worker: as many as each of the product's workers has.
TUTORIAL_CONCURRENCY = 2


@dataclass
class Tutorial:
    """The running tutorial stack: its API's URL and its two process trees."""

    api_url: str
    services: dict[str, processes.ServiceProcess]

    def pids(self) -> dict[str, int]:
        return {name: service.process.pid for name, service in self.services.items()}

    def check_alive(self) -> None:
        for service in self.services.values():
            if not service.alive():
                raise RuntimeError(f"tutorial {service.name} exited:\n{service.tail()}")


def tutorial_env(amqp_url: str, database_url: str, smtp: Mapping[str, str]) -> dict[str, str]:
    """The tutorial's settings: its own vhost and database, the run's SMTP sink."""
    return {
        "AMQP_URL": amqp_url,
        "DATABASE_URL": database_url,
        **smtp,
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }


def warm_up_tutorial(api_url: str, database_url: str, timeout: float = 60.0) -> None:
    """One email through the stack, then an empty result table.

    The first result stored creates Celery's tables; two pool processes doing that at
    once can collide, so it happens here, once, before the load. It also proves that
    the worker consumes.
    """
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=api_url, timeout=30) as http:
        task_id = http.post(
            "/emails", json={"to": "warm@example.com", "subject": "warm-up", "body": "."}
        ).json()["task_id"]
        while http.get(f"/emails/{task_id}").json()["status"] != "SUCCESS":
            if time.monotonic() > deadline:
                raise TimeoutError("the tutorial's warm-up email did not succeed")
            time.sleep(0.1)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE celery_taskmeta")


@contextmanager
def tutorial(env: Mapping[str, str], log_dir: Path) -> Iterator[Tutorial]:
    """The tutorial's worker and API, warmed up; stopped (process groups) on the way out."""
    port = free_port()
    started: list[processes.ServiceProcess] = []
    try:
        worker = processes.start(
            "tutorial-worker",
            [
                "celery",
                "-A",
                "bench.tutorial.worker",
                "worker",
                "--concurrency",
                str(TUTORIAL_CONCURRENCY),
                "--pool",
                "prefork",
            ],
            env,
            log_dir,
        )
        started.append(worker)
        api = processes.start(
            "tutorial-api",
            ["uvicorn", "bench.tutorial.app:app", "--host", "127.0.0.1", "--port", str(port)],
            env,
            log_dir,
        )
        started.append(api)
        # The worker logs at WARNING by default, so nothing says "ready": the warm-up
        # email is the proof that it consumes.
        api_url = f"http://127.0.0.1:{port}"
        processes.wait_until_ready(api, f"{api_url}/docs")
        warm_up_tutorial(api_url, env["DATABASE_URL"])
        stack = Tutorial(api_url, {"api": api, "worker": worker})
        stack.check_alive()
        yield stack
    finally:
        for service in reversed(started):
            service.stop()


@contextmanager
def ceiling(database_url: str, tenant: str, ready_path: str, log_dir: Path) -> Iterator[str]:
    """The ceiling under uvicorn (one process, no access log); its base URL. It is ready
    when ``ready_path`` (a stored workflow) answers 200."""
    port = free_port()
    service = processes.start(
        "ceiling",
        [
            "uvicorn",
            "bench.ceiling:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ],
        {
            "DATABASE_URL": database_url,
            "BENCH_TENANT": tenant,
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        },
        log_dir,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        processes.wait_until_ready(service, url + ready_path)
        yield url
    finally:
        service.stop()
