"""A worker's Prometheus metrics, correct under Celery's prefork pool.

Tasks run in pool children, so counters live in ``prometheus_client``'s multiprocess
mode: each child writes its own files under ``PROMETHEUS_MULTIPROC_DIR`` and the main
process's HTTP endpoint adds them up. That mode is chosen when ``prometheus_client`` is
first imported, so :func:`prepare_multiprocess_dir` runs before: it makes a fresh
directory for this worker (or empties the one the operator named) and sets the variable
the children inherit. Nothing here imports ``prometheus_client`` at module level.

Queue depths and consumer counts are read from the broker when the endpoint is scraped,
for every queue of the system (:func:`system_queues`), not only this worker's: a queue
whose own workers are all gone is then still reported, with no consumers.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BeforeValidator, Field

from contracts.routing import DEAD_LETTER_QUEUES, LOST_MESSAGES_QUEUE, TASK_QUEUES
from switchyard_runtime.failover import retries_per_node

if TYPE_CHECKING:
    from celery import Celery

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def installed() -> bool:
    """Whether the ``metrics`` extra (prometheus-client) is installed."""
    return importlib.util.find_spec("prometheus_client") is not None


def _port(value: Any) -> Any:
    port = 0 if value in ("", None) else value
    if port not in (0, "0") and not installed():
        raise ValueError(
            "serving metrics needs prometheus-client: install the runtime's metrics extra"
            " (runtime[metrics]), or leave METRICS_PORT unset"
        )
    return port


#: ``METRICS_PORT``: the port of a worker's metrics endpoint; 0 or empty turns it off. A
#: port without the ``metrics`` extra installed is refused when the settings load.
MetricsPort = Annotated[int, BeforeValidator(_port), Field(ge=0, le=65535)]

#: Seconds: a task takes from milliseconds (an email) to minutes (a large report).
DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)

#: How long a scrape waits for the broker before leaving the queue depths out.
BROKER_TIMEOUT = 3


def prepare_multiprocess_dir(service: str) -> tuple[Path, bool]:
    """Make ``PROMETHEUS_MULTIPROC_DIR`` usable for this worker; returns it and whether it
    was made here (and is removed at shutdown).

    Files left by an earlier run would be counted again, so a directory the operator named
    is emptied first. Must run before ``prometheus_client`` is imported.
    """
    given = os.environ.get(MULTIPROC_VARIABLE, "").strip()
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        made = False
    else:
        path = Path(tempfile.mkdtemp(prefix=f"{service}-metrics-"))
        os.environ[MULTIPROC_VARIABLE] = str(path)
        made = True
    if "prometheus_client" in sys.modules:
        from prometheus_client import values

        if values.ValueClass is values.MutexValue:
            raise RuntimeError(
                "prometheus_client was imported before PROMETHEUS_MULTIPROC_DIR was set: "
                "metrics of the pool's processes would be lost"
            )
    return path, made


def remove_multiprocess_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


class TaskMetrics:
    """The counters and histograms each pool process updates."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram

        self.tasks = Counter(
            "switchyard_worker_tasks",
            "Tasks run, by task name and outcome (succeeded, failed, retried, ignored, rejected).",
            ["task", "outcome"],
        )
        self.duration = Histogram(
            "switchyard_worker_task_duration_seconds",
            "How long tasks ran, by task name and outcome.",
            ["task", "outcome"],
            buckets=DURATION_BUCKETS,
        )
        self.retries = Counter(
            "switchyard_worker_task_retries", "Retries scheduled, by task name.", ["task"]
        )
        self.dead_lettered = Counter(
            "switchyard_worker_messages_dead_lettered",
            "Messages this worker rejected without requeueing (the broker dead-letters "
            "them to <queue>.dlq), by task name and reason.",
            ["task", "reason"],
        )

    def finished(self, task: str, outcome: str, seconds: float | None) -> None:
        self.tasks.labels(task, outcome).inc()
        if seconds is not None:
            self.duration.labels(task, outcome).observe(seconds)


def system_queues() -> list[str]:
    """Every queue of the topology: ``unroutable``, the work queues, their dead-letter
    queues and the API's copy of lost messages.

    Every worker reports all of them (a passive declare each: no grant needed, a fixed
    cost per scrape), so the same queue comes from several workers: aggregate with
    ``max by (queue)``, never ``sum``.
    """
    return [queue.name for queue in (*TASK_QUEUES, *DEAD_LETTER_QUEUES, LOST_MESSAGES_QUEUE)]


class QueueDepths:
    """A collector reading message and consumer counts from the broker at scrape time."""

    def __init__(self, app: Celery, queue_names: Callable[[], Iterable[str]]) -> None:
        self._app = app
        self._queue_names = queue_names

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        messages = GaugeMetricFamily(
            "switchyard_queue_messages",
            "Messages ready in the queue (dead-letter queues included), read from the broker.",
            labels=["queue"],
        )
        consumers = GaugeMetricFamily(
            "switchyard_queue_consumers", "Consumers of the queue.", labels=["queue"]
        )
        for name, ready, consuming in self.read():
            messages.add_metric([name], ready)
            consumers.add_metric([name], consuming)
        yield messages
        yield consumers

    def read(self) -> list[tuple[str, int, int]]:
        """``(queue, messages, consumers)`` for every queue the broker knows; none when
        the broker cannot be reached (a scrape must not fail because of it)."""
        found = []
        try:
            with self._app.connection_for_read() as connection:
                connection.ensure_connection(
                    max_retries=retries_per_node(connection, 1), timeout=BROKER_TIMEOUT
                )
                for name in sorted(set(self._queue_names())):
                    channel: Any = connection.channel()
                    try:
                        _, ready, consuming = channel.queue_declare(queue=name, passive=True)
                        found.append((name, int(ready), int(consuming)))
                    except connection.channel_errors:
                        pass  # not declared yet: nothing to report
                    finally:
                        with contextlib.suppress(Exception):
                            channel.close()
        except Exception:
            return found
        return found


def serve(host: str, port: int, extra: Iterable[Any] = ()) -> tuple[Any, Any]:
    """Serve the pool's metrics (and the ``extra`` collectors) on ``host:port``."""
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    for collector in extra:
        registry.register(collector)
    return start_http_server(port, host, registry=registry)


def mark_process_dead(pid: int) -> None:
    """A pool process exited: drop its live gauges (its counters stay counted)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
