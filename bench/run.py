"""The suite's measurements in order, on the vhost and database it was given.

1. the raw Celery baseline, before any service runs;
2. and 3. the product's path under 64 concurrent clients, with every submit's latency
   and every service's memory sampled meanwhile (6);
4. status reads among a million stored workflows;
5. a report over a million delivery rows, with the report worker's peak memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench import baseline, load, seed, system
from bench.resources import MB, PeakRss, tree_pss
from contracts import PlatformSettings
from tests.support import processes

Say = Callable[[str], None]


@dataclass(frozen=True)
class Sizes:
    """How much work each measurement does."""

    tasks: int  # baseline no-ops
    workflows: int  # emails down the product's path
    stored: int  # finished workflows stored before the status reads
    polls: int  # status reads
    rows: int  # delivery rows the report reads
    clients: int = 64  # concurrent HTTP clients (and pollers)
    concurrency: int = 2  # prefork processes of each worker, baseline's included


FULL = Sizes(tasks=5_000, workflows=5_000, stored=1_000_000, polls=10_000, rows=1_000_000)
QUICK = Sizes(tasks=1_000, workflows=500, stored=10_000, polls=2_000, rows=10_000)


def _settings(env: dict[str, str]) -> PlatformSettings:
    return PlatformSettings.model_validate(
        {"amqp_url": env["AMQP_URL"], "database_url": env["DATABASE_URL"]}
    )


def measure_baseline(
    env: dict[str, str], sizes: Sizes, log_dir: Path
) -> tuple[baseline.Throughput, dict[str, float]]:
    """The baseline's throughput; its worker's CPU milliseconds per task, and its RSS at
    rest (a plain prefork worker's tree, for scale) and under the load."""
    worker = processes.start(
        "baseline-worker",
        [
            "celery",
            "-A",
            "bench.noop_worker:app",
            "worker",
            "--queues",
            baseline.QUEUE.name,
            "--concurrency",
            str(sizes.concurrency),
            "--pool",
            "prefork",
            "--hostname",
            "bench-baseline@%h",
            "--loglevel",
            "INFO",
        ],
        env,
        log_dir,
    )
    app = baseline.create_app(_settings(env))
    try:
        processes.wait_for_log(worker, "ready.")
        with PeakRss({"worker": worker.process.pid}) as rest:
            time.sleep(2)
        with PeakRss({"worker": worker.process.pid}) as usage:
            throughput = baseline.measure(
                app, env["DATABASE_URL"], sizes.tasks, timeout=_timeout(sizes.tasks)
            )
        return throughput, {
            "worker_cpu_ms_per_task": usage.cpu_ms_per(sizes.tasks)["worker"],
            "worker_rss_at_rest_mb": rest.peaks_mb()["worker"],
            "worker_rss_under_load_mb": usage.peaks_mb()["worker"],
        }
    finally:
        app.close()
        worker.stop()


def _timeout(items: int) -> float:
    return max(120.0, items / 5)


def wait_finished(database_url: str, expected: int, timeout: float) -> tuple[int, datetime]:
    """Wait until ``expected`` workflows of the tenant finished: (succeeded, last end)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            finished, succeeded, last = conn.execute(
                "SELECT count(finished_at), count(*) FILTER (WHERE status = 'succeeded'), "
                "max(finished_at) FROM api.workflows WHERE tenant = %s",
                (system.TENANT,),
            ).fetchone() or (0, 0, None)
            if finished >= expected and last is not None:
                return succeeded, last
            if time.monotonic() > deadline:
                raise TimeoutError(f"{finished} of {expected} workflows finished in {timeout:.0f}s")
            time.sleep(0.2)


def measure_report(running: system.System, rows: int, first: date, last: date) -> dict[str, Any]:
    """One email activity report over the period, through the API; the step's own time."""
    headers = {"Authorization": f"Bearer {running.api_key}"}
    request = {
        "kind": "email_activity",
        "period": {"start": first.isoformat(), "end": last.isoformat()},
        "format": "csv",
    }
    pid = running.services["report-worker"].process.pid
    with (
        httpx.Client(base_url=running.api_url, headers=headers, timeout=60) as http,
        PeakRss({"report-worker": pid}, interval=0.05) as peak,
    ):
        posted = time.perf_counter()
        accepted = http.post("/v1/reports", json=request)
        accepted.raise_for_status()
        status_url = accepted.json()["status_url"]
        deadline = time.monotonic() + _timeout(rows // 1000)
        while True:
            document = http.get(status_url, params={"wait": 5}).json()
            if document["finished_at"] is not None:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"report not finished: {document}")
        end_to_end = time.perf_counter() - posted
    if document["status"] != "succeeded":
        raise RuntimeError(f"report failed: {document}")
    [step] = document["steps"]
    seconds = (
        datetime.fromisoformat(step["finished_at"]) - datetime.fromisoformat(step["started_at"])
    ).total_seconds()
    return {
        "source_rows": rows,
        "output_rows": step["result"]["rows"],
        "bytes": step["result"]["bytes"],
        "seconds": round(seconds, 3),
        "end_to_end_seconds": round(end_to_end, 3),
        "rows_per_s": round(rows / seconds, 1),
        "peak_rss_mb": peak.peaks_mb()["report-worker"],
    }


def measure(env: dict[str, str], sizes: Sizes, log_dir: Path, say: Say) -> dict[str, Any]:
    """Every measurement; the figures and the details behind them."""
    database_url = env["DATABASE_URL"]
    say("migrating the suite's database and declaring its topology")
    system.migrate(env)

    say(f"1. raw Celery baseline: {sizes.tasks:,} no-op tasks")
    base, base_usage = measure_baseline(env, sizes, log_dir)
    with psycopg.connect(database_url, autocommit=True) as conn:
        # The product starts from the same empty result table the baseline had.
        conn.execute("TRUNCATE celery_taskmeta")

    say("starting the services")
    with system.running(env, log_dir) as running:
        with PeakRss(running.pids()) as rest:
            time.sleep(2)
        pss_at_rest = {name: round(tree_pss(pid) / MB, 1) for name, pid in running.pids().items()}

        say(f"2./3. product path: {sizes.workflows:,} emails from {sizes.clients} clients")
        with PeakRss(running.pids()) as under_load:
            submits = load.submit_emails(
                running.api_url, running.api_key, sizes.workflows, sizes.clients
            )
            succeeded, last = wait_finished(database_url, len(submits.workflow_ids), 600)
        product_seconds = (last - submits.started).total_seconds()
        running.check_alive()

        say(f"4. status reads: storing {sizes.stored:,} finished workflows (COPY)")
        ids = seed.StoredIds()
        seed.finished_workflows(database_url, system.TENANT, sizes.stored, ids)
        say(f"   {sizes.polls:,} reads from {sizes.clients} pollers")
        with PeakRss({"api": running.services["api"].process.pid}) as reading:
            polls = load.poll_workflows(
                running.api_url, running.api_key, ids, sizes.stored, sizes.polls, sizes.clients
            )

        last_day = datetime.now(UTC).date() - timedelta(days=1)
        first_day = last_day - timedelta(days=89)
        say(f"5. report: storing {sizes.rows:,} deliveries (COPY), then one report over them")
        seed.deliveries(database_url, system.TENANT, sizes.rows, first_day, last_day)
        report = measure_report(running, sizes.rows, first_day, last_day)
        running.check_alive()

    product_rate = succeeded / product_seconds
    figures = {
        "baseline_tasks_per_s": round(base.per_second, 1),
        "product_workflows_per_s": round(product_rate, 1),
        "product_ratio_to_baseline": round(product_rate / base.per_second, 3),
        "submit_latency_ms": load.latency_ms(submits.latencies, (50, 95, 99)),
        "poll_latency_ms": load.latency_ms(polls.latencies, (50, 99)),
        "report_rows_per_s": report["rows_per_s"],
        "report_peak_rss_mb": report["peak_rss_mb"],
        "rss_at_rest_mb": rest.peaks_mb(),
        "rss_under_load_mb": under_load.peaks_mb(),
    }
    details = {
        "sizes": asdict(sizes),
        "baseline": {
            "tasks": base.count,
            "seconds": round(base.seconds, 3),
            **base_usage,
        },
        "product": {
            "submitted": len(submits.workflow_ids),
            "succeeded": succeeded,
            "seconds": round(product_seconds, 3),
            "submit_seconds": round(submits.seconds, 3),
            "submits_per_s": round(submits.per_second, 1),
            "submit_answers": {str(k): v for k, v in sorted(submits.statuses.items())},
            "submit_failures": dict(submits.failures),
            "cpu_ms_per_workflow": under_load.cpu_ms_per(max(succeeded, 1)),
        },
        "polls": {
            "stored_workflows": sizes.stored,
            "requests": len(polls.latencies),
            "requests_per_s": round(polls.per_second, 1),
            "answers": {str(k): v for k, v in sorted(polls.statuses.items())},
            "failures": dict(polls.failures),
            "api_cpu_ms_per_read": reading.cpu_ms_per(max(len(polls.latencies), 1))["api"],
        },
        "report": report,
        "pss_at_rest_mb": pss_at_rest,
    }
    return {"figures": figures, "details": details}
