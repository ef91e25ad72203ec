"""Email workers scaling: how fast one email worker, then two, drain the same backlog on
this machine, and the CPU every process tree spends per email meanwhile.

Each round stores a backlog first, with no email worker running: wrk submits the emails
through the API, which publishes them all (the outbox is empty) into the lane's queue.
Then N email worker processes start, each with its own Celery node name and the
default pool (threads, ``WORKER_CONCURRENCY``); a second after every one of them says
``ready.`` the clock and the CPU meters start, and they stop when the last of the round's
workflows has finished (its ``finished_at``, when a status read first says
``succeeded``). Emails per second counts the workflows finished after that moment over
the time to the last; what was sent before it (by a worker that was ready first) is in
neither the count nor the CPU.

It runs against two SMTP sinks in turn: one that answers at once, where the pipeline is
bound by CPU, and one that answers each message's DATA ``latency`` later, as a real
relay does in tens of milliseconds, where a worker waits more than it computes.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import psycopg

from bench import load, system, wrk
from bench.resources import CpuMeter
from tests.support import processes
from tests.support.smtp_sink import free_port

Say = Callable[[str], None]

#: Email worker processes in each round, in order.
WORKERS = (1, 2)
#: Seconds after every worker is ready before the clock and the meters start.
WARM_UP = 1.0
#: The realistic sink's answer to DATA, in milliseconds (a relay in the same region).
REALISTIC_LATENCY_MS = 50.0


def _scalar(database_url: str, query: str, *params: object) -> Any:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(query, params).fetchone()
    return row[0] if row else None


def _wait_published(database_url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _scalar(database_url, "SELECT count(*) FROM api.outbox"):
        if time.monotonic() > deadline:
            raise TimeoutError("the backlog was not published")
        time.sleep(0.2)


def _wait_finished(database_url: str, since: datetime, expected: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    query = "SELECT count(finished_at) FROM api.workflows WHERE tenant = %s AND created_at >= %s"
    while _scalar(database_url, query, system.TENANT, since) < expected:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {expected} emails finished in {timeout:.0f}s")
        time.sleep(0.1)


class _MachineCpu:
    """The share of the machine's cores that were busy meanwhile (everyone's work)."""

    def __enter__(self) -> _MachineCpu:
        self._before = psutil.cpu_times()
        return self

    def __exit__(self, *exc: object) -> None:
        after = psutil.cpu_times()
        busy = sum(after) - sum(self._before)
        idle = (after.idle + after.iowait) - (self._before.idle + self._before.iowait)
        self.busy_pct = round(100 * (busy - idle) / busy, 1) if busy else 0.0


def drain(
    env: Mapping[str, str],
    api_url: str,
    api_key: str,
    workers: int,
    emails: int,
    trees: Mapping[str, int],
    log_dir: Path,
    label: str,
) -> dict[str, Any]:
    """One round: a backlog of ``emails``, drained by ``workers`` email workers."""
    database_url = env["DATABASE_URL"]
    since = datetime.now(UTC)
    submits = wrk.post(
        f"{api_url}/v1/emails",
        load.PRODUCT_EMAIL,
        emails,
        headers={"Authorization": f"Bearer {api_key}"},
    )
    expected = submits.answered_2xx
    _wait_published(database_url, timeout=300)
    host = socket.gethostname()
    started = [
        processes.start(
            f"email-worker-{label}-{n}",
            ["email-worker", "run", "--hostname", f"bench-email-{n}@{host}"],
            # Each its own metrics port: two on the default would collide.
            {**env, "METRICS_PORT": str(free_port())},
            log_dir,
        )
        for n in range(1, workers + 1)
    ]
    try:
        for worker in started:
            processes.wait_for_log(worker, "ready.", timeout=120)
        # A worker's last start-up steps (its consumers, heartbeats) come just after its
        # "ready.": past them, what the meters see is the emails' work alone.
        time.sleep(WARM_UP)
        ready = datetime.now(UTC)
        meters = {
            **trees,
            **{f"email-worker-{n}": w.process.pid for n, w in enumerate(started, 1)},
        }
        with CpuMeter(meters) as cpu, _MachineCpu() as machine:
            _wait_finished(database_url, since, expected, timeout=900)
    finally:
        for worker in started:
            worker.stop()
    done, last = 0, ready
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*), max(finished_at) FROM api.workflows"
            " WHERE tenant = %s AND created_at >= %s AND finished_at >= %s"
            " AND status = 'succeeded'",
            (system.TENANT, since, ready),
        ).fetchone()
        if row and row[1] is not None:
            done, last = int(row[0]), row[1]
    if done == 0:
        raise RuntimeError(
            f"{workers} worker(s) drained all {expected} emails before the meters started:"
            " the backlog is too small to measure"
        )
    seconds = max((last - ready).total_seconds(), 1e-3)
    per_tree = cpu.ms_per(done)
    worker_ms = round(sum(v for k, v in per_tree.items() if k.startswith("email-worker")), 3)
    counted = {k: v for k, v in per_tree.items() if k != "smtp-sink"}
    return {
        "workers": workers,
        "submitted": expected,
        "drained_after_ready": done,
        "seconds": round(seconds, 3),
        "emails_per_s": round(done / seconds, 1),
        "cpu_ms_per_email": {
            "total": round(sum(counted.values()), 3),
            "email_workers": worker_ms,
            **per_tree,
        },
        "machine_busy_pct": machine.busy_pct,
        # Where the floor is: one worker process runs Python on one core at a time (the
        # GIL), and the machine has so many cores for everything an email costs.
        "bound_per_s": {
            "one_worker_process": round(1000 / worker_ms, 1) if worker_ms else 0.0,
            "machine": round(1000 * (psutil.cpu_count() or 1) / (sum(per_tree.values()) or 1), 1),
        },
    }


def measure(
    env: Mapping[str, str],
    emails: int,
    servers: Mapping[str, int],
    log_dir: Path,
    say: Say,
) -> dict[str, Any]:
    """Both sinks, one worker then two each; the ratio of their emails per second."""
    results: dict[str, Any] = {}
    for sink, latency in (("instant", 0.0), ("realistic", REALISTIC_LATENCY_MS)):
        options = ["--quiet", "--latency-ms", str(latency)]
        with system.smtp_sink_process(log_dir, *options) as (smtp, sink_process):
            api_port = free_port()
            api_env = {**env, **smtp, "API_HOST": "127.0.0.1", "API_PORT": str(api_port)}
            api = processes.start(f"api-scaling-{sink}", ["api"], api_env, log_dir)
            try:
                api_url = f"http://127.0.0.1:{api_port}"
                processes.wait_until_ready(api, f"{api_url}/readyz")
                api_key = processes.create_api_key(api_env, system.TENANT)
                trees = {"api": api.process.pid, **servers, "smtp-sink": sink_process.process.pid}
                rounds = []
                for workers in WORKERS:
                    say(
                        f"   {sink} sink ({latency:g} ms): {emails:,} emails, "
                        f"{workers} email worker(s)"
                    )
                    rounds.append(
                        drain(
                            api_env,
                            api_url,
                            api_key,
                            workers,
                            emails,
                            trees,
                            log_dir,
                            f"{sink}-{workers}",
                        )
                    )
            finally:
                api.stop()
        one, two = rounds
        results[sink] = {
            "latency_ms": latency,
            "one": one,
            "two": two,
            "ratio": round(two["emails_per_s"] / one["emails_per_s"], 3),
        }
    return results


def markdown(result: Mapping[str, Any]) -> str:
    """The scaling rounds as a table."""
    lines = [
        "| SMTP sink | email workers | emails/s | ratio | CPU ms per email: total"
        " (email workers, api, postgres, rabbitmq) | SMTP sink ms | machine busy |"
        " bound: one worker process / the machine, emails/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for sink, figures in result.items():
        for key in ("one", "two"):
            r = figures[key]
            cpu = r["cpu_ms_per_email"]
            parts = ", ".join(
                str(cpu.get(name, "-")) for name in ("email_workers", "api", "postgres", "rabbitmq")
            )
            ratio = f"**{figures['ratio']}x**" if key == "two" else ""
            lines.append(
                f"| {sink} ({figures['latency_ms']:g} ms) | {r['workers']} | {r['emails_per_s']}"
                f" | {ratio} | {cpu['total']} ({parts}) | {cpu.get('smtp-sink', '-')}"
                f" | {r['machine_busy_pct']}% | {r['bound_per_s']['one_worker_process']}"
                f" / {r['bound_per_s']['machine']} |"
            )
    return "\n".join(lines)
