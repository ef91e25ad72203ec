"""The tutorial stack's measurements, on its own vhost and database: the same pipeline,
light load and status reads as the product's, so each figure has its peer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import psycopg

from bench import light, load, pipeline, references, wrk
from bench.resources import CpuMeter
from bench.sizes import Sizes

Say = Callable[[str], None]


def measure(
    env: Mapping[str, str], sizes: Sizes, servers: Mapping[str, int], log_dir: Path, say: Say
) -> dict[str, Any]:
    """Every measurement of the tutorial stack; the raw results, by phase."""
    database_url = env["DATABASE_URL"]
    with references.tutorial(env, log_dir) as stack:
        say(f"2. tutorial pipeline: {sizes.emails:,} emails, {sizes.clients} connections (wrk)")
        flow = pipeline.run(
            f"{stack.api_url}/emails",
            load.TUTORIAL_EMAIL,
            sizes.emails,
            clients=sizes.clients,
            trees={**stack.pids(), **servers},
            wait=pipeline.tutorial_wait(database_url, 900),
        )
        stack.check_alive()
        with psycopg.connect(database_url) as conn:
            task_ids = [row[0] for row in conn.execute("SELECT task_id FROM celery_taskmeta")]

        say(f"3. tutorial light load: {sizes.light} emails one at a time, tight status loop")
        light_seconds = light.tutorial(stack.api_url, sizes.light)

        say(f"4. tutorial status reads: {sizes.read_seconds:.0f} s, {sizes.clients} connections")
        paths = log_dir / "tutorial-paths.txt"
        paths.write_text("".join(f"/emails/{task_id}\n" for task_id in task_ids))
        with CpuMeter({"api": stack.pids()["api"]}) as cpu:
            reads = wrk.get(stack.api_url, paths, sizes.read_seconds, connections=sizes.clients)
        stack.check_alive()
    return {
        "pipeline": flow,
        "light_seconds": light_seconds,
        "reads": {**reads.summary(), "api_cpu_ms_per_read": cpu.ms_per(reads.requests)["api"]},
    }
