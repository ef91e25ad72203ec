"""The benchmark suite works: its quick run reports every figure and leaves nothing behind.

No figure is judged here (the machine is shared, so timings prove nothing); the test
only proves that ``just bench`` runs end to end, the product and the tutorial stack each
on a vhost and a database of its own, all four gone afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from base64 import b64encode
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.infra import provide_broker, provide_database

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
SERVICES = {"api", "email-worker", "report-worker", "scheduler"}
SERVERS = {"postgres", "rabbitmq"}
TARGET_ROWS = {
    "pipeline",
    "CPU per email",
    "status reads",
    "status read p99",
    "idle with unfinished workflows",
    "submit p99 with long polls held",
    "database queries with long polls held",
    "light load to succeeded",
}


def zero_is_legitimate(path: str) -> bool:
    """A process tree can spend no CPU tick on a few emails (the scheduler), an idle
    system none at all, and a window may see no transaction; a total or a rate is never
    zero."""
    if path.startswith(".cpu_ms_per_email.") and not path.endswith((".total", ".ratio")):
        return True
    return path.startswith((".idle.", ".long_polls.connections_queried_")) and not path.endswith(
        (".unfinished", ".seconds")
    )


def numbers(value: Any, path: str = "") -> list[tuple[str, float]]:
    """Every number in a nested figure, with where it is."""
    if isinstance(value, dict):
        return [pair for key, item in value.items() for pair in numbers(item, f"{path}.{key}")]
    assert isinstance(value, int | float) and not isinstance(value, bool), (path, value)
    return [(path, value)]


def vhost_exists(amqp_url: str, management_url: str | None, vhost: str) -> bool:
    if management_url:
        parts = urllib.parse.urlsplit(amqp_url)
        credentials = f"{parts.username or 'guest'}:{parts.password or 'guest'}"
        request = urllib.request.Request(
            f"{management_url.rstrip('/')}/api/vhosts/{urllib.parse.quote(vhost, safe='')}",
            headers={"authorization": "Basic " + b64encode(credentials.encode()).decode()},
        )
        try:
            with urllib.request.urlopen(request, timeout=30):
                return True
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return False
            raise
    assert shutil.which("rabbitmqctl"), "no way to list vhosts"
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "list_vhosts"], capture_output=True, text=True, check=True
    )
    return vhost in listed.stdout.split()


def test_the_quick_bench_reports_every_figure_and_cleans_up(tmp_path: Path) -> None:
    output = tmp_path / "quick.json"
    with (
        provide_broker(os.environ) as (amqp_url, management_url),
        provide_database(os.environ) as database_url,
    ):
        command = [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--amqp-url",
            amqp_url,
            "--database-url",
            database_url,
            "--output",
            str(output),
            "--logs",
            str(tmp_path / "logs"),
        ]
        if management_url:
            command += ["--rabbitmq-management-url", management_url]
        # A bound, not a timing assertion: a hung run fails instead of hanging CI.
        completed = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
        )
        assert completed.returncode == 0, completed.stderr[-4000:]

        result = json.loads(output.read_text())
        chart = output.with_suffix(".svg").read_text()
        assert chart.startswith("<svg") and chart.count('class="bar product"') == 4
        infra = result["infra"]
        for vhost in (infra["vhost"], infra["tutorial_vhost"]):
            assert not vhost_exists(amqp_url, management_url, vhost), vhost
        with psycopg.connect(database_url) as conn:
            left = conn.execute(
                "SELECT count(*) FROM pg_database WHERE datname = ANY(%s)",
                ([infra["database"], infra["tutorial_database"]],),
            ).fetchone()
        assert left == (0,)

    figures = result["figures"]
    for path, value in numbers(figures):
        if zero_is_legitimate(path):
            assert value >= 0, f"figure {path} is {value}"
        else:
            assert value > 0, f"figure {path} is {value}"
    details = result["details"]
    sizes = details["sizes"]
    measured_servers = SERVERS - set(details["servers"]["missing"])
    assert set(figures["pipeline_emails_per_s"]) == {"product", "tutorial", "ratio"}
    assert set(figures["cpu_ms_per_email"]) == {"product", "tutorial", "ratio"}
    assert set(figures["cpu_ms_per_email"]["product"]) == {"total"} | SERVICES | measured_servers
    assert set(figures["cpu_ms_per_email"]["tutorial"]) == {"total", "api", "worker"} | (
        measured_servers
    )
    for stack in ("product", "tutorial"):
        assert set(figures["submit_latency_ms"][stack]) == {"p50", "p99"}
        assert set(figures["light_load_ms"][stack]) == {"p50", "p99"}
    reads = figures["status_reads"]
    assert set(reads) == {"product", "tutorial", "ceiling", "ratio_to_ceiling"}
    for stack in ("product", "tutorial", "ceiling"):
        assert set(reads[stack]) == {"per_s", "p50_ms", "p99_ms"}
    assert {"unfinished", "seconds", "api_cpu_pct", "total_pct"} <= set(figures["idle"])
    assert ("postgres_cpu_pct" in figures["idle"]) == ("postgres" in measured_servers)
    assert figures["idle"]["unfinished"] == sizes["unfinished"]
    polls = figures["long_polls"]
    assert polls["held"] == sizes["held"]
    assert set(polls["submit_ms"]) == {"p50", "p99", "max"}
    assert {"connections_queried_during_hold", "connections_queried_baseline"} <= set(polls)
    for key in ("baseline_tasks_per_s", "report_rows_per_s", "report_peak_rss_mb"):
        assert key in figures, key
    assert set(figures["rss_at_rest_mb"]) == SERVICES
    assert set(figures["rss_under_load_mb"]) == SERVICES

    assert result["quick"] is True
    # Every submit of both pipelines was answered, and with a success; every email sent.
    for stack in ("product", "tutorial"):
        flow = details[stack]["pipeline"]
        answers = flow["submits"]["answers"]
        assert all(200 <= int(status) < 300 for status in answers), (stack, answers)
        assert sum(answers.values()) == sizes["emails"], (stack, answers)
        assert flow["succeeded"] == sizes["emails"], stack
        assert set(details[stack]["reads"]["answers"]) == {"200"}, stack
    assert set(details["ceiling"]["reads"]["answers"]) == {"200"}
    assert details["report"]["source_rows"] == sizes["rows"]
    for key in ("cores", "python", "celery", "rabbitmq", "postgresql"):
        assert result["machine"][key], key
    assert {target["what"] for target in result["targets"]} == TARGET_ROWS
    assert {target["number"] for target in result["targets"]} == {1, 2, 3, 4, 5, 6}
    for target in result["targets"]:
        assert isinstance(target["met"], bool), target
    assert "| 1 | pipeline" in completed.stdout
