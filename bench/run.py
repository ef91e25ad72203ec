"""The suite's measurements in order, and the figures made of them.

In bench/README.md's numbering: the raw Celery baseline (1), before any service runs;
the tutorial stack's pipeline (2), light load (3) and status reads (4); then the
product's same three, with every service's memory sampled (6) and the ceiling's reads of
the product's stored rows (4), a report over a million delivery rows (5), and a backlog
of unfinished workflows: idle cost (7) and long polls held (8). The stacks run one after
the other, never side by side, against one SMTP sink.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psycopg

from bench import baseline, load, peer, product, references, servers, system
from bench.pipeline import Pipeline
from bench.sizes import Sizes

Say = Callable[[str], None]


@dataclass(frozen=True)
class Infra:
    """Where each stack runs: the product's and the tutorial's vhosts and databases, and
    the database the suite was pointed at (to read the others' statistics from)."""

    product_amqp_url: str
    product_database_url: str
    tutorial_amqp_url: str
    tutorial_database_url: str
    admin_database_url: str


def _ratio(numerator: float, denominator: float) -> float:
    return round(numerator / denominator, 3) if denominator else 0.0


def _reads(summary: dict[str, Any]) -> dict[str, float]:
    return {
        "per_s": summary["per_s"],
        "p50_ms": summary["latency_ms"]["p50"],
        "p99_ms": summary["latency_ms"]["p99"],
    }


def _pipeline_details(flow: Pipeline) -> dict[str, Any]:
    return {
        "succeeded": flow.succeeded,
        "seconds": round(flow.seconds, 3),
        "submits": flow.submits.summary(),
    }


def figures(
    base: baseline.Throughput, tutorial: dict[str, Any], ours: dict[str, Any]
) -> dict[str, Any]:
    """The figures the issue asks for, from both stacks' raw results."""
    product_flow: Pipeline = ours["pipeline"]
    tutorial_flow: Pipeline = tutorial["pipeline"]
    product_cpu = product_flow.cpu_ms_per_email()
    tutorial_cpu = tutorial_flow.cpu_ms_per_email()
    reads = {
        "product": _reads(ours["reads"]),
        "tutorial": _reads(tutorial["reads"]),
        "ceiling": _reads(ours["ceiling"]),
    }
    return {
        "pipeline_emails_per_s": {
            "product": round(product_flow.per_second, 1),
            "tutorial": round(tutorial_flow.per_second, 1),
            "ratio": _ratio(product_flow.per_second, tutorial_flow.per_second),
        },
        "cpu_ms_per_email": {
            "product": product_cpu,
            "tutorial": tutorial_cpu,
            "ratio": _ratio(product_cpu["total"], tutorial_cpu["total"]),
        },
        "submit_latency_ms": {
            "product": {k: product_flow.submits.latency_ms[k] for k in ("p50", "p99")},
            "tutorial": {k: tutorial_flow.submits.latency_ms[k] for k in ("p50", "p99")},
        },
        "status_reads": {
            **reads,
            "ratio_to_ceiling": _ratio(reads["product"]["per_s"], reads["ceiling"]["per_s"]),
        },
        "light_load_ms": {
            "product": load.latency_ms(ours["light_seconds"], (50, 99)),
            "tutorial": load.latency_ms(tutorial["light_seconds"], (50, 99)),
        },
        "idle": ours["idle"],
        "long_polls": ours["long_polls"],
        "baseline_tasks_per_s": round(base.per_second, 1),
        "report_rows_per_s": ours["report"]["rows_per_s"],
        "report_peak_rss_mb": ours["report"]["peak_rss_mb"],
        "rss_at_rest_mb": ours["rss_at_rest_mb"],
        "rss_under_load_mb": ours["rss_under_load_mb"],
    }


def measure(
    env: dict[str, str], infra: Infra, sizes: Sizes, log_dir: Path, say: Say
) -> dict[str, Any]:
    """Every measurement; the figures and the details behind them."""
    say("locating the PostgreSQL and RabbitMQ servers' processes")
    found = servers.locate(infra.product_amqp_url, infra.product_database_url)
    for name, why in found.missing.items():
        say(f"   {name} left out of the CPU figures: {why}")
    say("migrating the product's database and declaring its topology")
    system.migrate(env)

    say(f"1. raw Celery baseline: {sizes.tasks:,} no-op tasks")
    base, base_usage = baseline.run(env, sizes, log_dir)
    with psycopg.connect(infra.product_database_url, autocommit=True) as conn:
        # The product starts from the same empty result table the baseline had.
        conn.execute("TRUNCATE celery_taskmeta")

    with system.smtp_sink(log_dir) as smtp:
        tutorial_env = references.tutorial_env(
            infra.tutorial_amqp_url, infra.tutorial_database_url, smtp
        )
        tutorial = peer.measure(tutorial_env, sizes, found.pids, log_dir, say)
        say("starting the product's services")
        ours = product.measure(
            {**env, **smtp}, sizes, found.pids, infra.admin_database_url, log_dir, say
        )

    details = {
        "sizes": asdict(sizes),
        "servers": {"pids": found.pids, "missing": found.missing},
        "baseline": {"tasks": base.count, "seconds": round(base.seconds, 3), **base_usage},
        "product": {
            "pipeline": _pipeline_details(ours["pipeline"]),
            "reads": ours["reads"],
            "backlog": ours["backlog"],
        },
        "tutorial": {
            "pipeline": _pipeline_details(tutorial["pipeline"]),
            "reads": tutorial["reads"],
        },
        "ceiling": {"reads": ours["ceiling"]},
        "report": ours["report"],
        "pss_at_rest_mb": ours["pss_at_rest_mb"],
    }
    return {"figures": figures(base, tutorial, ours), "details": details}
