"""Replicas of everything on one vhost and one database: two API servers (two server
processes each) behind a round-robin, two intakes, three email workers, a report worker
and two schedulers. Every workflow is tracked once, every tick started once, every email
sent once, though an API server and the scheduler leader are SIGKILLed mid-run.

The system is this module's own (a fresh vhost, its own SMTP sink, and a PostgreSQL
cluster of its own: a dozen replicas' pools would take a large share of a shared server's
connections from whoever else uses it), so every row and every message in it is this
test's. Each replica runs on this one machine
as an operator would run it there: the same environment, its own port for an API, its
own Celery node name for a worker (``--hostname``; containers get one from their host
name). Submissions carry an ``Idempotency-Key`` and are sent again when their connection
breaks (the killed server's), as a careful client does.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import pytest

from contracts.workflows import workflow_id_for
from tests.support import processes
from tests.support.infra import fresh_vhost, provide_broker
from tests.support.polling import FINISHED, eventually
from tests.support.private_instances import private_postgres
from tests.support.round_robin import RoundRobin
from tests.support.smtp_sink import SmtpSink, free_port
from tests.test_events_e2e import read_events
from tests.test_scheduler_e2e import events, parse, ticks_in

pytestmark = pytest.mark.e2e

HOST = "127.0.0.1"
TENANT = "tests"
#: Emails submitted before the kills, and while and after they happen.
EMAILS_BEFORE, EMAILS_DURING = 150, 150
CHAINS, CHORDS = 6, 4
SUBMITTERS = 8
PERIOD = {"start": "2026-11-01", "end": "2026-11-30"}
REPORT = {"kind": "email_activity", "period": PERIOD, "format": "csv"}
SCHEDULE, EVERY = "email_activity", 2
OPS = f"ops-{uuid.uuid4().hex[:8]}@example.com"
STARTED = "scheduled run started"
SKIPPED = "scheduled run skipped: the previous run is unfinished"
DUPLICATE = "scheduled run already started"


@dataclass
class Replicas:
    env: dict[str, str]
    proxy: RoundRobin
    sink: SmtpSink
    apis: list[processes.ServiceProcess]
    intakes: list[processes.ServiceProcess]
    email_workers: list[processes.ServiceProcess]
    schedulers: list[processes.ServiceProcess]
    key: str
    system_key: str


@dataclass
class Submitted:
    """What the clients were answered 202 for: ``{workflow id: what was sent}``."""

    emails: dict[str, str] = field(default_factory=dict)
    chains: dict[str, str] = field(default_factory=dict)
    chords: dict[str, str] = field(default_factory=dict)
    resent: int = 0
    replayed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def all(self) -> dict[str, str]:
        return {**self.emails, **self.chains, **self.chords}


@contextmanager
def sink_running() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    log_dir = tmp_path_factory.mktemp("replica-logs")
    host = socket.gethostname()
    with (
        provide_broker(os.environ) as (broker, management),
        fresh_vhost(broker, management, prefix="replicas") as amqp_url,
        private_postgres(log_dir) as postgres,
        sink_running() as sink,
    ):
        env = {
            "AMQP_URL": amqp_url,
            "DATABASE_URL": postgres.url,
            # Four API server processes, two intakes, three email workers, a report worker
            # and two schedulers hold about 50 connections at these sizes.
            "DB_POOL_SIZE": "4",
            "SMTP_HOST": sink.host,
            "SMTP_PORT": str(sink.port),
            "WORKER_CONCURRENCY": "2",
            "METRICS_PORT": "0",
            "RATE_LIMIT": "100000/second",
            "SCHEDULE_EMAIL_ACTIVITY": str(EVERY),
            "SCHEDULE_BACKEND_CLEANUP": "off",
            "REPORT_RECIPIENTS": OPS,
        }
        began = time.monotonic()
        for name in ("api", "email-worker", "report-worker", "scheduler"):
            processes.run([name, "migrate"], env)
        migrated = time.monotonic()
        ports = [free_port(), free_port()]
        started: list[processes.ServiceProcess] = []

        def start(name: str, argv: list[str], **extra: str) -> processes.ServiceProcess:
            service = processes.start(name, argv, {**env, **extra}, log_dir)
            started.append(service)
            return service

        try:
            apis = [
                start(f"api-{n}", ["api"], API_HOST=HOST, API_PORT=str(port), API_WORKERS="2")
                for n, port in enumerate(ports, 1)
            ]
            intakes = [
                start(f"api-intake-{n}", ["api", "intake", "--hostname", f"api-intake-{n}@{host}"])
                for n in (1, 2)
            ]
            email_workers = [
                start(
                    f"email-worker-{n}",
                    ["email-worker", "run", "--hostname", f"email-worker-{n}@{host}"],
                )
                for n in (1, 2, 3)
            ]
            report_worker = start("report-worker", ["report-worker"])
            for worker in [*intakes, *email_workers, report_worker]:
                processes.wait_for_log(worker, "ready.", timeout=120)
            for api, port in zip(apis, ports, strict=True):
                processes.wait_until_ready(api, f"http://{HOST}:{port}/readyz", timeout=120)
            schedulers = [start(f"scheduler-{n}", ["scheduler"]) for n in (1, 2)]
            eventually(lambda: leader_of(schedulers), timeout=60)
            key = processes.create_api_key(env, TENANT)
            system_key = processes.create_api_key(env, "system")
            print(
                f"replicas: migrated in {migrated - began:.1f}s,"
                f" every replica up {time.monotonic() - migrated:.1f}s later"
            )
            with RoundRobin([(HOST, port) for port in ports]) as proxy:
                yield Replicas(
                    env, proxy, sink, apis, intakes, email_workers, schedulers, key, system_key
                )
        finally:
            for process in reversed(started):
                process.stop()


def leader_of(schedulers: list[processes.ServiceProcess]) -> processes.ServiceProcess | None:
    leading = [s for s in schedulers if s.alive() and events(s, "scheduler is the leader")]
    return leading[-1] if leading else None


def status_leader(apis: list[processes.ServiceProcess]) -> processes.ServiceProcess:
    """The API server whose process took the status leadership last."""
    taken = [
        (record["timestamp"], api.name, api)
        for api in apis
        if api.alive()
        for record in events(api, "status leadership taken")
    ]
    assert taken, "no API process leads the status updates"
    return max(taken, key=lambda entry: entry[:2])[2]


def submit(client: httpx.Client, submitted: Submitted, kind: str, n: int) -> None:
    """One submission, sent again with its key while its connection breaks or the API
    answers 503 (a replica going away)."""
    label = f"{kind}-{n}-{uuid.uuid4().hex[:6]}"
    body: dict[str, Any]
    if kind == "email":
        path, body = "/v1/emails", {"to": ["r@example.com"], "subject": label, "text": "x"}
    elif kind == "chain":
        path, body = "/v1/reports", {**REPORT, "deliver_to": [f"{label}@example.com"]}
    else:
        path, body = "/v1/report-batches", {"reports": [REPORT, REPORT]}
        body["deliver_to"] = [f"{label}@example.com"]
    headers = {"Idempotency-Key": label}
    for attempt in range(20):
        try:
            answer = client.post(path, json=body, headers=headers)
        except httpx.TransportError:
            answer = None
        if answer is not None and answer.status_code != 503:
            break
        with submitted.lock:
            submitted.resent += 1
        time.sleep(0.2 * (attempt + 1))
    # 200 is the replay of a first try the killed server stored but could not answer.
    accepted = (202, 200) if attempt else (202,)
    assert answer is not None and answer.status_code in accepted, answer and answer.text
    with submitted.lock:
        submitted.replayed += answer.status_code == 200
        getattr(submitted, f"{kind}s")[answer.json()["workflow_id"]] = label


def client_of(replicas: Replicas, key: str | None = None) -> httpx.Client:
    """A client of the round-robin that opens a connection per request, so requests, not
    just connections, alternate between the servers."""
    return httpx.Client(
        base_url=replicas.proxy.url,
        timeout=60,
        headers=processes.bearer(key or replicas.key),
        limits=httpx.Limits(max_keepalive_connections=0),
    )


@dataclass
class Run:
    submitted: Submitted
    killed_api: processes.ServiceProcess
    killed_scheduler: processes.ServiceProcess
    seconds: float


@pytest.fixture(scope="module")
def run(replicas: Replicas) -> Iterator[Run]:
    """Submit, kill the status leader's API server and the scheduler leader halfway, and
    wait for every workflow to finish; then stop the schedulers and let their runs end."""
    began = time.monotonic()
    submitted = Submitted()
    jobs = (
        [("email", n) for n in range(EMAILS_BEFORE)]
        + [("chain", n) for n in range(CHAINS)]
        + [("chord", n) for n in range(CHORDS)]
    )
    with client_of(replicas) as client, ThreadPoolExecutor(SUBMITTERS) as pool:
        list(pool.map(lambda job: submit(client, submitted, *job), jobs))
        during = [
            pool.submit(submit, client, submitted, "email", EMAILS_BEFORE + n)
            for n in range(EMAILS_DURING)
        ]
        eventually(lambda: len(submitted.emails) >= EMAILS_BEFORE + 30, timeout=60)
        killed_api = status_leader(replicas.apis)
        killed_scheduler = leader_of(replicas.schedulers)
        assert killed_scheduler is not None
        killed_api.kill()
        killed_scheduler.kill()
        for future in during:
            future.result()
    database_url = replicas.env["DATABASE_URL"]

    def unfinished() -> list[str]:
        with psycopg.connect(database_url) as db:
            rows = db.execute(
                "SELECT document::text FROM api.workflows WHERE tenant = %s"
                " AND finished_at IS NULL",
                (TENANT,),
            ).fetchall()
        return [row[0] for row in rows]

    try:
        eventually(lambda: not unfinished(), timeout=120)
    except AssertionError:
        left = unfinished()
        raise AssertionError(f"{len(left)} unfinished, e.g. {left[:3]}") from None
    seconds = time.monotonic() - began
    ended = time.monotonic()
    # Ticks keep coming a while after the kill; then no more runs start.
    survivor = next(s for s in replicas.schedulers if s is not killed_scheduler)
    eventually(lambda: len(ticks_in(survivor, "tick sent")) >= 3, timeout=60)
    survivor.stop()
    with client_of(replicas, replicas.system_key) as system:
        eventually(lambda: all(r["status"] in FINISHED for r in scheduled_runs(system)), timeout=90)
    print(
        f"replicas: scheduled runs ended {time.monotonic() - ended:.1f}s later; "
        f"{len(submitted.all())} workflows in {seconds:.1f}s, "
        f"{submitted.resent} submissions sent again ({submitted.replayed} replayed),"
        f" connections {dict(replicas.proxy.connections)},"
        f" passed over {dict(replicas.proxy.passed_over)}"
    )
    yield Run(submitted, killed_api, killed_scheduler, seconds)


def scheduled_runs(client: httpx.Client) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/workflows", params=params)
        page.raise_for_status()
        runs += [item for item in page.json()["items"] if item["origin"] == f"schedule:{SCHEDULE}"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return runs


def test_both_api_servers_took_requests_and_the_survivor_took_over(
    replicas: Replicas, run: Run
) -> None:
    assert all(replicas.proxy.connections[(HOST, port)] > 20 for port in api_ports(replicas))
    assert replicas.proxy.passed_over, "the killed server was passed over after its death"
    [survivor] = [api for api in replicas.apis if api is not run.killed_api]
    assert survivor.alive()
    assert events(survivor, "status leadership taken"), "the survivor leads the status updates"


def api_ports(replicas: Replicas) -> list[int]:
    return [port for _, port in replicas.proxy.servers]


def test_every_workflow_is_tracked_once_and_its_document_reached_succeeded(
    replicas: Replicas, run: Run
) -> None:
    submitted = run.submitted.all()
    assert len(submitted) == EMAILS_BEFORE + EMAILS_DURING + CHAINS + CHORDS
    with psycopg.connect(replicas.env["DATABASE_URL"]) as db:
        rows = db.execute(
            "SELECT id::text, status, document::text, etag FROM api.workflows WHERE tenant = %s",
            (TENANT,),
        ).fetchall()
    # One row per accepted workflow: no retried submission made a second one.
    assert sorted(row[0] for row in rows) == sorted(submitted)
    stored = {row[0]: (row[1], json.loads(row[2]), row[3]) for row in rows}
    with client_of(replicas) as client:
        for workflow_id, (status, document, etag) in stored.items():
            assert status == "succeeded", document
            assert document["finished_at"] and {s["status"] for s in document["steps"]} == {
                "succeeded"
            }, document
            read = client.get(f"/v1/workflows/{workflow_id}")
            assert (read.json(), read.headers["ETag"]) == (document, etag)
            again = client.get(f"/v1/workflows/{workflow_id}", headers={"If-None-Match": etag})
            assert again.status_code == 304
        for workflow_id in [*run.submitted.chains, *run.submitted.chords]:
            status, document, etag = stored[workflow_id]
            with client.stream("GET", f"/v1/workflows/{workflow_id}/events") as stream:
                streamed = list(read_events(stream))
            # A finished workflow's stream is its final document, once, and then it ends.
            assert [(e.id, e.document) for e in streamed] == [(etag, document)]
            assert [s["name"] for s in document["steps"]][-1] == "email.send"


def test_every_email_was_sent_once(replicas: Replicas, run: Run) -> None:
    received = replicas.sink.mailbox.received()
    subjects = Counter(m.subject for m in received if m.envelope_to == ["r@example.com"])
    assert subjects == Counter(run.submitted.emails.values())
    for label in [*run.submitted.chains.values(), *run.submitted.chords.values()]:
        assert len(replicas.sink.mailbox.addressed_to(f"{label}@example.com")) == 1, label
    with psycopg.connect(replicas.env["DATABASE_URL"]) as db:
        sent = db.execute(
            "SELECT count(*), count(DISTINCT task_id) FROM email_worker.deliveries"
            " WHERE outcome = 'sent'"
        ).fetchone()
        workers: dict[str, int] = dict(
            db.execute(
                "SELECT worker, count(*) FROM celery_taskmeta WHERE name = 'email.send'"
                " GROUP BY worker"
            ).fetchall()
        )
    assert sent is not None and sent[0] == sent[1] == len(received)
    # Three workers shared the queue; none sent what another had.
    print(f"emails per worker: {workers}")
    assert len(workers) == 3, workers


def test_every_tick_started_one_run_though_the_scheduler_leader_was_killed(
    replicas: Replicas, run: Run
) -> None:
    sent = [tick for s in replicas.schedulers for tick in ticks_in(s, "tick sent")]
    killed, [survivor] = (
        run.killed_scheduler,
        [s for s in replicas.schedulers if s is not run.killed_scheduler],
    )
    assert ticks_in(killed, "tick sent") and ticks_in(survivor, "tick sent"), "both led in turn"
    # Only the tick the killed leader sent but could not record may be sent again.
    assert len(sent) - len(set(sent)) <= 1, sorted(sent)
    handled: dict[str, Counter[str]] = {
        what: Counter(tick for i in replicas.intakes for tick in ticks_in(i, what))
        for what in (STARTED, SKIPPED, DUPLICATE)
    }
    # Each tick was handled by exactly one intake (a resent one: once more, as a duplicate).
    for tick in set(sent):
        outcomes = Counter({what: seen[tick] for what, seen in handled.items() if seen[tick]})
        assert outcomes in (Counter({STARTED: 1}), Counter({SKIPPED: 1})) or (
            outcomes == Counter({STARTED: 1, DUPLICATE: 1}) and sent.count(tick) == 2
        ), (tick, outcomes)
    with client_of(replicas, replicas.system_key) as system:
        runs = Counter(r["id"] for r in scheduled_runs(system))
    started = {str(workflow_id_for(SCHEDULE, parse(tick))) for tick in handled[STARTED]}
    assert started and set(runs) == started and set(runs.values()) == {1}
    # Each started run mailed its report once.
    assert len(replicas.sink.mailbox.addressed_to(OPS)) == len(started)
    print(
        f"ticks sent {len(sent)}, started {len(started)}, skipped {len(handled[SKIPPED])},"
        f" duplicates absorbed {sum(handled[DUPLICATE].values())}"
    )
