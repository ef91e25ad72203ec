"""Item 1, the baseline: raw Celery doing nothing, as reliably as the platform does work.

A plain Celery app (Celery's own database result backend, no contracts, no routing, no
base task) with the reliability settings of
:func:`switchyard_runtime.celery_app.create_celery_app`, copied from it by name so the
two cannot drift apart, sending a no-op task by name to a prefork worker of the same
concurrency through a quorum queue of the same arguments as the platform's. Tasks per
second run from the first publish to the last result stored.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from celery import Celery

from bench.resources import CpuMeter, PeakRss
from bench.sizes import Sizes
from contracts.topology import dead_letter_exchange, domain_exchange, work_queue
from switchyard_runtime.celery_app import create_celery_app
from switchyard_runtime.settings import PlatformSettings
from tests.support import processes

TASK = "bench.noop"
QUEUE = work_queue("bench.noop", domain_exchange("bench"), "bench.#", dead_letter_exchange("bench"))

#: The factory's settings that decide how reliably and in what form work travels:
#: publisher confirms, late acks, requeue on a lost worker, prefetch 1, JSON only, the
#: extended result rows with STARTED states, and the result engine's options.
RELIABILITY = (
    "broker_connection_retry_on_startup",
    "broker_transport_options",
    "result_extended",
    "result_expires",
    "database_engine_options",
    "task_serializer",
    "result_serializer",
    "accept_content",
    "result_accept_content",
    "event_serializer",
    "task_acks_late",
    "task_reject_on_worker_lost",
    "task_track_started",
    "worker_prefetch_multiplier",
    "worker_deduplicate_successful_tasks",
    "broker_native_delayed_delivery_queue_type",
    "enable_utc",
    "timezone",
)

#: Threads publishing the baseline's tasks (each with its own producer and confirms).
PUBLISHERS = 4


def create_app(settings: PlatformSettings) -> Celery:
    """The plain app: same broker, ``db+postgresql`` backend and reliability settings."""
    factory = create_celery_app("bench-factory", settings)
    app = Celery("bench-baseline", set_as_current=False)
    app.conf.update(
        {name: factory.conf[name] for name in RELIABILITY},
        broker_url=str(settings.amqp_url),
        result_backend=settings.result_backend_url,
        task_queues=(QUEUE,),
        task_default_queue=QUEUE.name,
        task_default_exchange=QUEUE.exchange.name,
        task_default_routing_key="bench.noop",
        worker_hijack_root_logger=False,
    )

    @app.task(name=TASK)
    def noop() -> None:
        return None

    return app


@dataclass(frozen=True)
class Throughput:
    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


def _publish(app: Celery, count: int) -> None:
    with app.producer_or_acquire() as producer:
        for _ in range(count):
            app.send_task(TASK, producer=producer)


def measure(app: Celery, database_url: str, tasks: int, timeout: float) -> Throughput:
    """Publish ``tasks`` no-ops from a few threads; wait until every result is stored."""
    shares = [tasks // PUBLISHERS + (1 if i < tasks % PUBLISHERS else 0) for i in range(PUBLISHERS)]
    started = datetime.now(UTC)
    with ThreadPoolExecutor(PUBLISHERS) as pool:
        for future in [pool.submit(_publish, app, share) for share in shares]:
            future.result()
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            done, last = conn.execute(
                "SELECT count(*), max(date_done) FROM celery_taskmeta "
                "WHERE name = %s AND status = 'SUCCESS'",
                (TASK,),
            ).fetchone() or (0, None)
            if done >= tasks and last is not None:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"baseline: {done} of {tasks} results after {timeout:.0f}s")
            time.sleep(0.1)
    # date_done is a naive UTC column (the engine's sessions run in UTC).
    return Throughput(tasks, (last.replace(tzinfo=UTC) - started).total_seconds())


def run(env: dict[str, str], sizes: Sizes, log_dir: Path) -> tuple[Throughput, dict[str, float]]:
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
            QUEUE.name,
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
    app = create_app(
        PlatformSettings.model_validate(
            {"amqp_url": env["AMQP_URL"], "database_url": env["DATABASE_URL"]}
        )
    )
    try:
        processes.wait_for_log(worker, "ready.")
        with PeakRss({"worker": worker.process.pid}) as rest:
            time.sleep(2)
        with (
            PeakRss({"worker": worker.process.pid}) as usage,
            CpuMeter({"worker": worker.process.pid}) as cpu,
        ):
            throughput = measure(
                app, env["DATABASE_URL"], sizes.tasks, timeout=max(120.0, sizes.tasks / 5)
            )
        return throughput, {
            "worker_cpu_ms_per_task": cpu.ms_per(sizes.tasks)["worker"],
            "worker_rss_at_rest_mb": rest.peaks_mb()["worker"],
            "worker_rss_under_load_mb": usage.peaks_mb()["worker"],
        }
    finally:
        app.close()
        worker.stop()
