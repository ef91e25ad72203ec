"""``just bench --only scaling`` works: one email worker, then two, drain a backlog
behind each SMTP sink, every email of every round is drained and measured, and its vhost
and database are gone afterwards.

No figure is judged (the machine is shared): the ratio is what bench/README.md records.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.support.infra import provide_broker, provide_database
from tests.test_bench_e2e import ROOT, numbers, vhost_exists

pytestmark = pytest.mark.e2e

#: The quick run's backlog a round (bench/sizes.py's QUICK.scaling_emails; the tests do
#: not import the bench package).
QUICK_BACKLOG = 1_000


def test_the_quick_scaling_run_drains_every_round_and_cleans_up(tmp_path: Path) -> None:
    output = tmp_path / "scaling.json"
    with (
        provide_broker(os.environ) as (amqp_url, management_url),
        provide_database(os.environ) as database_url,
    ):
        command = [
            sys.executable,
            "-m",
            "bench",
            "--only",
            "scaling",
            "--quick",
            "--amqp-url",
            amqp_url,
            "--database-url",
            database_url,
            "--output",
            str(output),
        ]
        if management_url:
            command += ["--rabbitmq-management-url", management_url]
        # A bound, not a timing assertion: a hung run fails instead of hanging CI.
        completed = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
        )
        assert completed.returncode == 0, completed.stderr[-4000:]
        result = json.loads(output.read_text())
        assert not vhost_exists(amqp_url, management_url, result["infra"]["vhost"])
        with psycopg.connect(database_url) as conn:
            left = conn.execute(
                "SELECT count(*) FROM pg_database WHERE datname = %s",
                (result["infra"]["database"],),
            ).fetchone()
        assert left == (0,)

    scaling = result["scaling"]
    assert set(scaling) == {"instant", "realistic"}
    assert scaling["instant"]["latency_ms"] == 0 < scaling["realistic"]["latency_ms"]
    for sink in scaling.values():
        assert sink["ratio"] > 0
        for key, workers in (("one", 1), ("two", 2)):
            drained = sink[key]
            assert drained["workers"] == workers
            assert drained["submitted"] == QUICK_BACKLOG, "every submit was answered 2xx"
            # The emails sent after the meters started are what the figures count.
            assert 0 < drained["drained_after_ready"] <= drained["submitted"]
            cpu = drained["cpu_ms_per_email"]
            assert {f"email-worker-{n}" for n in range(1, workers + 1)} <= set(cpu)
            assert {"total", "email_workers", "api", "smtp-sink"} <= set(cpu)
            for path, value in numbers(drained):
                assert value >= 0, (path, value)
            assert drained["emails_per_s"] > 0 and cpu["email_workers"] > 0
    assert "| instant (0 ms) | 2 |" in completed.stdout
