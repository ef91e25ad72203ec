"""The product's measurements, in the order they run on one start of its services:
the pipeline (with memory sampled), light load, status reads among many stored
workflows and the ceiling's reads of the same rows, a report over many delivery rows,
then a backlog of unfinished workflows: idle cost and long polls held.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench import idle, light, load, longpoll, pipeline, references, seed, system, wrk
from bench.resources import MB, CpuMeter, PeakRss, tree_pss
from bench.sizes import Sizes

Say = Callable[[str], None]

#: Stored ids a read picks from at random: plenty for a few seconds of reads, and a
#: file wrk's threads load in a moment.
READ_IDS = 100_000
#: Seconds the system is left alone after a bulk load before its idle cost is read.
SETTLE = 10.0


def _paths_file(log_dir: Path, name: str, paths: list[str]) -> Path:
    path = log_dir / f"{name}-paths.txt"
    path.write_text("".join(f"{p}\n" for p in paths))
    return path


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
        deadline = time.monotonic() + max(120.0, rows / 5000)
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


def _reads(
    running: system.System, sizes: Sizes, log_dir: Path, say: Say
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Status reads of random stored finished workflows, by the product and the ceiling."""
    say(f"   storing {sizes.stored:,} finished workflows (COPY)")
    ids = seed.StoredIds()
    seed.workflows(running.env["DATABASE_URL"], system.TENANT, sizes.stored, ids)
    numbers = random.Random(7).sample(range(sizes.stored), min(sizes.stored, READ_IDS))
    paths = _paths_file(log_dir, "stored", [f"/v1/workflows/{ids(n)}" for n in numbers])
    say(f"   product: {sizes.read_seconds:.0f} s of reads, {sizes.clients} connections (wrk)")
    with CpuMeter({"api": running.services["api"].process.pid}) as cpu:
        product = wrk.get(
            running.api_url,
            paths,
            sizes.read_seconds,
            connections=sizes.clients,
            headers={"Authorization": f"Bearer {running.api_key}"},
        )
    product_details = {
        **product.summary(),
        "api_cpu_ms_per_read": cpu.ms_per(product.requests)["api"],
    }
    say("   ceiling: the same reads of the same rows")
    first_path = f"/v1/workflows/{ids(numbers[0])}"
    with references.ceiling(running.env["DATABASE_URL"], system.TENANT, first_path, log_dir) as url:
        ceiling = wrk.get(url, paths, sizes.read_seconds, connections=sizes.clients)
    return product_details, ceiling.summary()


def _backlog(
    running: system.System,
    sizes: Sizes,
    servers: Mapping[str, int],
    admin_url: str,
    say: Say,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Idle cost with many unfinished workflows stored, then long polls held on them."""
    database_url = running.env["DATABASE_URL"]
    database = database_url.rsplit("/", 1)[1]
    say(f"7. idle: storing {sizes.unfinished:,} unfinished workflows (COPY)")
    ids = seed.StoredIds()
    seed.workflows(database_url, system.TENANT, sizes.unfinished, ids, seed.unfinished)
    time.sleep(SETTLE)
    trees = {"api": running.services["api"].process.pid}
    if "postgres" in servers:
        trees["postgres"] = servers["postgres"]
    say(f"   {sizes.idle_seconds:.0f} s with no traffic")
    idle_cpu = idle.cpu(trees, sizes.idle_seconds)
    idle_figures = {
        "unfinished": sizes.unfinished,
        "seconds": sizes.idle_seconds,
        "api_cpu_pct": idle_cpu["api"],
        **({"postgres_cpu_pct": idle_cpu["postgres"]} if "postgres" in idle_cpu else {}),
        "total_pct": round(sum(idle_cpu.values()), 2),
    }
    say(f"8. long polls: {sizes.window_seconds:.0f} s of queries with none held")
    baseline_queried = idle.connections_queried_over(admin_url, database, sizes.window_seconds)
    say(f"   {sizes.held:,} long polls held, then {sizes.held_submits} submits")
    numbers = random.Random(11).sample(range(sizes.unfinished), sizes.held)
    held = longpoll.hold(
        running.api_url,
        running.api_key,
        [f"/v1/workflows/{ids(n)}" for n in numbers],
        submits=sizes.held_submits,
        window=sizes.window_seconds,
        admin_url=admin_url,
        database=database,
    )
    submit_ms = load.latency_ms(held.submit_seconds, (50, 99))
    long_polls = {
        "held": held.held,
        "submit_ms": {**submit_ms, "max": round(max(held.submit_seconds) * 1000, 2)},
        "connections_queried_during_hold": held.connections_queried,
        "connections_queried_baseline": baseline_queried,
    }
    details = {
        "window_seconds": sizes.window_seconds,
        "poll_answers": {str(k): v for k, v in sorted(held.answers.items())},
        "polls_answered_before_window_end": held.answers_before_window_end,
    }
    return {"idle": idle_figures, "long_polls": long_polls}, details


def measure(
    env: Mapping[str, str],
    sizes: Sizes,
    servers: Mapping[str, int],
    admin_url: str,
    log_dir: Path,
    say: Say,
) -> dict[str, Any]:
    """Every measurement of the product; the raw results, by phase."""
    database_url = env["DATABASE_URL"]
    with system.running(env, log_dir) as running:
        with PeakRss(running.pids()) as rest:
            time.sleep(2)
        pss_at_rest = {name: round(tree_pss(pid) / MB, 1) for name, pid in running.pids().items()}
        light.product(running.api_url, running.api_key, 1)  # warm-up, before any figure

        say(f"2. product pipeline: {sizes.emails:,} emails, {sizes.clients} connections (wrk)")
        with PeakRss(running.pids()) as under_load:
            flow = pipeline.run(
                f"{running.api_url}/v1/emails",
                load.PRODUCT_EMAIL,
                sizes.emails,
                clients=sizes.clients,
                trees={**running.pids(), **servers},
                wait=pipeline.product_wait(database_url, system.TENANT, 900),
                headers={"Authorization": f"Bearer {running.api_key}"},
            )
        running.check_alive()

        say(f"3. product light load: {sizes.light} emails one at a time, with long polls")
        light_seconds = light.product(running.api_url, running.api_key, sizes.light)

        say("4. product status reads")
        reads, ceiling = _reads(running, sizes, log_dir, say)
        running.check_alive()

        last_day = datetime.now(UTC).date() - timedelta(days=1)
        first_day = last_day - timedelta(days=89)
        say(f"5. report: storing {sizes.rows:,} deliveries (COPY), then one report over them")
        seed.deliveries(database_url, system.TENANT, sizes.rows, first_day, last_day)
        report = measure_report(running, sizes.rows, first_day, last_day)
        running.check_alive()

        backlog, backlog_details = _backlog(running, sizes, servers, admin_url, say)
        running.check_alive()
    return {
        "pipeline": flow,
        "light_seconds": light_seconds,
        "reads": reads,
        "ceiling": ceiling,
        "report": report,
        "rss_at_rest_mb": rest.peaks_mb(),
        "rss_under_load_mb": under_load.peaks_mb(),
        "pss_at_rest_mb": pss_at_rest,
        **backlog,
        "backlog": backlog_details,
    }
