"""Worker metrics: prometheus_client's multiprocess mode across forked pool processes.

The mode is fixed when ``prometheus_client`` is first imported, so each case runs in a
fresh interpreter, as a worker does.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from celery import Celery
from pydantic import BaseModel, ValidationError

from contracts.routing import SCAFFOLDED
from switchyard_runtime.metrics import MetricsPort, QueueDepths, system_queues


def run_python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={"PATH": "/usr/bin:/bin", **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


COUNT_IN_TWO_PROCESSES = """
    import os
    from switchyard_runtime import metrics

    path, made = metrics.prepare_multiprocess_dir("unit")
    print(made, os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(path))
    counted = metrics.TaskMetrics()
    child = os.fork()
    if child == 0:  # a pool process
        counted.finished("email.send", "succeeded", 0.2)
        counted.retries.labels("email.send").inc()
        os._exit(0)
    os.waitpid(child, 0)
    metrics.mark_process_dead(child)
    counted.finished("email.send", "failed", None)

    from prometheus_client import CollectorRegistry, generate_latest, multiprocess
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    print(generate_latest(registry).decode())
    if made:
        metrics.remove_multiprocess_dir(path)
        print("removed", not path.exists())
"""


def test_counts_from_every_process_add_up_in_a_directory_of_its_own() -> None:
    result = run_python(COUNT_IN_TWO_PROCESSES)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("True True")
    assert 'switchyard_worker_tasks_total{outcome="succeeded",task="email.send"} 1.0' in out
    assert 'switchyard_worker_tasks_total{outcome="failed",task="email.send"} 1.0' in out
    assert 'switchyard_worker_task_retries_total{task="email.send"} 1.0' in out
    assert (
        'switchyard_worker_task_duration_seconds_count{outcome="succeeded",task="email.send"} 1.0'
        in out
    )
    # A failure without a known start time is counted but not timed.
    assert 'duration_seconds_count{outcome="failed"' not in out
    assert out.rstrip().endswith("removed True")


def test_an_operators_directory_is_emptied_of_an_earlier_runs_files(tmp_path: Path) -> None:
    (tmp_path / "counter_123.db").write_bytes(b"stale")
    (tmp_path / "keep.txt").write_text("not ours")

    result = run_python(COUNT_IN_TWO_PROCESSES, {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("False True")
    assert not (tmp_path / "counter_123.db").exists()
    assert (tmp_path / "keep.txt").exists()
    assert 'switchyard_worker_tasks_total{outcome="succeeded",task="email.send"} 1.0' in (
        result.stdout
    )


def test_prometheus_client_imported_too_early_is_an_error() -> None:
    result = run_python(
        """
        import prometheus_client
        from switchyard_runtime import metrics
        metrics.prepare_multiprocess_dir("unit")
        """
    )
    assert result.returncode != 0
    assert "imported before PROMETHEUS_MULTIPROC_DIR was set" in result.stderr


class PortSettings(BaseModel):
    port: MetricsPort = 0


@pytest.mark.parametrize(("given", "port"), [("", 0), (None, 0), ("0", 0), ("9808", 9808)])
def test_metrics_port_empty_or_zero_is_off(given: str | None, port: int) -> None:
    assert PortSettings(port=given).port == port  # type: ignore[arg-type]


@pytest.mark.parametrize("given", ["-1", "65536", "ninety"])
def test_metrics_port_must_be_a_port(given: str) -> None:
    with pytest.raises(ValidationError):
        PortSettings(port=given)  # type: ignore[arg-type]


def test_queue_depths_are_left_out_when_the_broker_cannot_be_reached(app: Celery) -> None:
    # conftest's guard refuses every connection: a scrape must still answer.
    depths = QueueDepths(app, lambda: ["email.transactional", "email.transactional.dlq"])
    families = list(depths.collect())
    assert [family.name for family in families] == [
        "switchyard_queue_messages",
        "switchyard_queue_consumers",
    ]
    assert all(family.samples == [] for family in families)


def test_every_worker_reports_every_queue_of_the_system() -> None:
    # Not only its own: when every email worker is gone, the report worker still reports
    # email.transactional, with no consumers, which is what the alert looks for.
    scaffolded = [
        queue.name
        for contract in SCAFFOLDED
        for queue in (*contract.queues, *contract.dead_letter_queues)
    ]
    assert sorted(system_queues()) == sorted(
        [
            "api.dead-letters",
            "api.intake",
            "api.intake.dlq",
            "email.bulk",
            "email.bulk.dlq",
            "email.transactional",
            "email.transactional.dlq",
            "reports.default",
            "reports.default.dlq",
            "unroutable",
            "webhooks.deliver",
            "webhooks.deliver.dlq",
            *scaffolded,
        ]
    )
