"""The fault-injection suite's world: a broker, a database and services of its own.

Each scenario gets a private RabbitMQ node and PostgreSQL cluster (see
``tests.support.private_instances``), an SMTP sink, and starts the services it needs
against them, so it can stop, restart or SIGKILL any of them without touching the
session's shared servers or other tests. Every scenario prints one line of counts.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.support import processes
from tests.support.polling import FINISHED
from tests.support.private_instances import (
    PrivatePostgres,
    PrivateRabbitMQ,
    private_postgres,
    private_rabbitmq,
)
from tests.support.smtp_sink import SmtpSink, free_port

TENANT = "faults"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    try:
        yield sink
    finally:
        sink.stop()


@dataclass
class Stack:
    """The private servers, the services running against them, and how to call the API."""

    rabbitmq: PrivateRabbitMQ
    postgres: PrivatePostgres
    sink: SmtpSink
    env: dict[str, str]
    log_dir: Path
    api_key: str
    services: dict[str, processes.ServiceProcess] = field(default_factory=dict)
    _starts: Counter[str] = field(default_factory=Counter)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.env['API_PORT']}"

    def start(self, *services: str) -> None:
        """Start ``api`` and workers (again), side by side; return once each serves.

        The API is waited for on ``/healthz``: ``/readyz`` would wait for the broker too.
        """
        started = []
        for service in services:
            self._starts[service] += 1
            label = f"{service}-{self._starts[service]}"
            started.append(processes.start(label, [service], self.env, self.log_dir))
            self.services[service] = started[-1]
        for service, process in zip(services, started, strict=True):
            if service == "api":
                processes.wait_until_ready(process, f"{self.api_url}/healthz")
            else:
                processes.wait_for_log(process, "ready.")

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.api_url, timeout=30, headers=processes.bearer(self.api_key)
        )

    def stop_all(self) -> None:
        for service in reversed(list(self.services.values())):
            service.stop()

    def logs(self) -> str:
        """The tail of every service's log, for a failure message."""
        return "\n".join(f"--- {s.log_path.name}\n{s.tail(30)}" for s in self.services.values())


def service_env(amqp_url: str, postgres: PrivatePostgres, sink: SmtpSink) -> dict[str, str]:
    """Every service's variables for a scenario on these servers (``AMQP_URL`` may name
    several nodes)."""
    return {
        "AMQP_URL": amqp_url,
        "DATABASE_URL": postgres.url,
        "SMTP_HOST": sink.host,
        "SMTP_PORT": str(sink.port),
        "API_HOST": "127.0.0.1",
        "API_PORT": str(free_port()),
        # Not the API's default metrics port, which another run may hold.
        "METRICS_PORT": "0",
        "EMAIL_RETRY_BACKOFF": "1",
        "EMAIL_RETRY_BACKOFF_MAX": "2",
        "EMAIL_MAX_RETRIES": "5",
        "WORKER_CONCURRENCY": "2",
        # A burst of submissions from one key is the point here, not the rate limit.
        "RATE_LIMIT": "100000/second",
    }


@pytest.fixture
def stack(sink: SmtpSink, tmp_path: Path) -> Iterator[Stack]:
    """Private servers with the schemas and topology migrated, an API key; no service yet.

    The broker boots (the slowest part) while the database starts and the email worker's
    migration runs.
    """
    with (
        private_rabbitmq(tmp_path, wait=False) as rabbitmq,
        private_postgres(tmp_path) as postgres,
        ThreadPoolExecutor(max_workers=1) as background,
    ):
        env = service_env(rabbitmq.url, postgres, sink)
        worker_schema = background.submit(processes.run, ["email-worker", "migrate"], env)
        rabbitmq.wait_ready()
        processes.run(["api", "migrate"], env)
        worker_schema.result()
        key = processes.create_api_key(env, TENANT)
        stack = Stack(rabbitmq, postgres, sink, env, tmp_path, key)
        try:
            yield stack
        finally:
            stack.stop_all()


# --- submitting and counting -----------------------------------------------------------


def email(subject: str) -> dict[str, Any]:
    return {"to": ["ada@example.com"], "subject": subject, "text": "fault injection"}


def subjects(scenario: str, count: int) -> list[str]:
    run = uuid.uuid4().hex[:6]
    return [f"{scenario} {run} #{i:04d}" for i in range(count)]


def wait_until(what: str, check: Callable[[], bool], timeout: float) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def finished(document: dict[str, Any] | None) -> bool:
    return document is not None and document["status"] in FINISHED and bool(document["finished_at"])


def wait_until_final(
    client: httpx.Client, workflow_ids: Iterable[str], timeout: float
) -> dict[str, dict[str, Any]]:
    """Poll until each workflow has a final status, or until ``timeout``.

    Reads the tenant's listing, 100 documents a request (the private database holds this
    scenario's workflows only), so hundreds of pending workflows cost a few requests a
    second, not hundreds. Returns the last document of each workflow the API listed.
    """
    wanted = set(workflow_ids)
    deadline = time.monotonic() + timeout
    while True:
        documents = {}
        cursor = None
        while True:
            response = client.get(
                "/v1/workflows", params={"limit": 100, **({"cursor": cursor} if cursor else {})}
            )
            assert response.status_code == 200, (response.status_code, response.text)
            page = response.json()
            documents.update({d["id"]: d for d in page["items"] if d["id"] in wanted})
            cursor = page["next_cursor"]
            if cursor is None:
                break
        if all(finished(documents.get(i)) for i in wanted) or time.monotonic() > deadline:
            return documents
        time.sleep(1)


@dataclass
class Counts:
    """What a scenario prints: accepted, finished, lost, duplicated side effects."""

    scenario: str
    accepted: int = 0
    finished: int = 0
    succeeded: int = 0
    lost: int = 0
    duplicated: int = 0
    notes: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def count_deliveries(self, sink: SmtpSink, accepted_subjects: Iterable[str]) -> None:
        """Lost: accepted emails that never arrived; duplicated: extra copies that did."""
        wanted = set(accepted_subjects)
        seen = Counter(m.subject for m in sink.mailbox.received() if m.subject in wanted)
        self.lost = len(wanted - set(seen))
        self.duplicated = sum(n - 1 for n in seen.values())

    def count_documents(self, documents: Iterable[dict[str, Any]]) -> None:
        final = [d for d in documents if finished(d)]
        self.finished = len(final)
        self.succeeded = sum(1 for d in final if d["status"] == "succeeded")

    def line(self) -> str:
        notes = "".join(f" {key}={value}" for key, value in self.notes.items())
        return (
            f"[faults] {self.scenario}: accepted={self.accepted} finished={self.finished}"
            f" succeeded={self.succeeded} lost={self.lost} duplicated={self.duplicated}"
            f"{notes} ({time.monotonic() - self.started:.1f}s)"
        )


@pytest.fixture
def report(capsys: pytest.CaptureFixture[str]) -> Iterator[list[Counts]]:
    """Counts appended here are printed at the end of the test, pass or fail."""
    reported: list[Counts] = []
    yield reported
    with capsys.disabled():
        for counts in reported:
            print(f"\n{counts.line()}", flush=True)


def outbox_size(postgres: PrivatePostgres) -> int:
    """Messages committed by the API that the relay has not published yet."""
    with psycopg.connect(postgres.url) as conn:
        row = conn.execute("SELECT count(*) FROM api.outbox").fetchone()
    assert row is not None
    return int(row[0])
