"""The issue's targets, checked against a run's figures, and the markdown table."""

from __future__ import annotations

from typing import Any

#: (what, target as written, how to read it from the figures, the bound, "min" or "max")
TARGETS: tuple[tuple[str, str, tuple[str, ...], float, str], ...] = (
    ("end-to-end throughput", ">= 0.8x baseline", ("product_ratio_to_baseline",), 0.8, "min"),
    ("submit p99", "<= 25 ms", ("submit_latency_ms", "p99"), 25, "max"),
    ("status read p99", "<= 10 ms", ("poll_latency_ms", "p99"), 10, "max"),
    ("report rows/s", ">= 100,000", ("report_rows_per_s",), 100_000, "min"),
    ("report worker peak RSS", "<= 200 MB", ("report_peak_rss_mb",), 200, "max"),
)
#: Each service's RSS at rest, in MB.
SERVICE_AT_REST_MB = 120


def _get(figures: dict[str, Any], path: tuple[str, ...]) -> float:
    value: Any = figures
    for key in path:
        value = value[key]
    return float(value)


def targets(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target with the run's value and whether it was met."""
    checked = []
    for what, target, path, bound, kind in TARGETS:
        value = _get(figures, path)
        met = value >= bound if kind == "min" else value <= bound
        checked.append({"what": what, "target": target, "value": value, "met": met})
    for service, mb in figures["rss_at_rest_mb"].items():
        checked.append(
            {
                "what": f"{service} RSS at rest",
                "target": f"<= {SERVICE_AT_REST_MB} MB",
                "value": mb,
                "met": mb <= SERVICE_AT_REST_MB,
            }
        )
    return checked


def _yes(met: bool) -> str:
    return "yes" if met else "**no**"


def markdown(result: dict[str, Any]) -> str:
    """The run as a markdown table, with the machine and the sizes above it."""
    figures, details, machine = result["figures"], result["details"], result["machine"]
    sizes = details["sizes"]
    met = {t["what"]: t["met"] for t in result["targets"]}
    submit, poll, report = (
        figures["submit_latency_ms"],
        figures["poll_latency_ms"],
        details["report"],
    )
    clients = sizes["clients"]
    lines = [
        f"Machine: {machine['cores']} cores ({machine['cpu']}), {machine['memory_gb']} GB; "
        f"Python {machine['python']}, Celery {machine['celery']}, "
        f"RabbitMQ {machine['rabbitmq']}, PostgreSQL {machine['postgresql']}; "
        f"load average {machine['load_average_at_start'][0]} at start, "
        f"{machine['load_average_at_end'][0]} at end; "
        f"{'quick' if result['quick'] else 'full-size'} run of {result['seconds']:.0f} s "
        f"on {result['started_at'][:16].replace('T', ' ')} UTC.",
        "",
        "| # | measure | result | target | met |",
        "|---|---|---|---|---|",
        f"| 1 | raw Celery baseline: {sizes['tasks']:,} no-op `send_task`, prefork "
        f"x{sizes['concurrency']}, db result backend | "
        f"{figures['baseline_tasks_per_s']:,} tasks/s | | |",
        f"| 2 | `POST /v1/emails` -> email worker -> SMTP -> `succeeded`: "
        f"{sizes['workflows']:,} workflows, {clients} clients | "
        f"{figures['product_workflows_per_s']:,} workflows/s = "
        f"**{figures['product_ratio_to_baseline']}x** baseline | >= 0.8x | "
        f"{_yes(met['end-to-end throughput'])} |",
        f"| 3 | submit latency p50 / p95 / p99, {clients} clients | "
        f"{submit['p50']} / {submit['p95']} / {submit['p99']} ms | p99 <= 25 ms | "
        f"{_yes(met['submit p99'])} |",
        f"| 4 | status read p50 / p99, {clients} pollers, "
        f"{details['polls']['stored_workflows']:,} stored | "
        f"{poll['p50']} / {poll['p99']} ms ({details['polls']['requests_per_s']:,} reads/s) | "
        f"p99 <= 10 ms | {_yes(met['status read p99'])} |",
        f"| 5 | report over {report['source_rows']:,} delivery rows "
        f"({report['output_rows']:,} rows out, {report['seconds']} s) | "
        f"{report['rows_per_s']:,.0f} rows/s, peak RSS {report['peak_rss_mb']} MB | "
        f">= 100,000 rows/s, <= 200 MB | {_yes(met['report rows/s'])}, "
        f"{_yes(met['report worker peak RSS'])} |",
    ]
    under_load = figures["rss_under_load_mb"]
    for service, mb in figures["rss_at_rest_mb"].items():
        lines.append(
            f"| 6 | RSS of {service} at rest / under load of 2 (process tree) | "
            f"{mb} / {under_load[service]} MB | <= {SERVICE_AT_REST_MB} MB at rest | "
            f"{_yes(met[f'{service} RSS at rest'])} |"
        )
    lines.append(
        f"| 6 | RSS of the baseline's plain Celery worker at rest / under load of 1, for "
        f"scale | {details['baseline']['worker_rss_at_rest_mb']} / "
        f"{details['baseline']['worker_rss_under_load_mb']} MB | | |"
    )
    cpu = details["product"]["cpu_ms_per_workflow"]
    lines += [
        "",
        "CPU time per unit of work (the figure other people's load distorts least): "
        f"baseline worker {details['baseline']['worker_cpu_ms_per_task']} ms/task; "
        + ", ".join(f"{service} {ms}" for service, ms in cpu.items())
        + f" ms/workflow; api {details['polls']['api_cpu_ms_per_read']} ms/status read.",
    ]
    return "\n".join(lines)
