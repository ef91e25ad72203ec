"""The ``report.generate`` task: stream rows from PostgreSQL into a stored artifact."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from celery import Celery, Task
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from contracts import GenerateReport, ReportReady
from contracts.reports import GENERATE
from report_worker import artifacts
from report_worker.config import Settings
from report_worker.db import engine
from report_worker.render import Heading, plain, renderer_for
from report_worker.sources import source_for
from switchyard_runtime.worker import ContractTask, backoff, parse_payload

#: Custom Celery state of a running report; its meta is ``{"completed", "total"}`` rows.
PROGRESS = "PROGRESS"


class ReportRejected(Exception):
    """The worker will not build this report (never retried)."""


def report_id_for(request: GenerateReport, task_id: str) -> uuid.UUID:
    """The producer's chosen id, else one derived from the task (a rerun finds it)."""
    return request.report_id or uuid.uuid5(uuid.NAMESPACE_URL, f"report.generate:{task_id}")


def check(request: GenerateReport) -> None:
    today = datetime.now(UTC).date()
    if request.period.start > today:
        raise ReportRejected(
            f"period starts {request.period.start.isoformat()}, after today "
            f"({today.isoformat()}): there is nothing to report yet"
        )


class Progress:
    """Reports completed rows as a Celery custom state, at most every ``interval`` seconds."""

    def __init__(self, task: Task[Any, Any], total: int, interval: float) -> None:
        self._task = task
        self._total = total
        self._interval = interval
        self._last = 0.0

    def update(self, completed: int, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last >= self._interval:
            self._task.update_state(
                state=PROGRESS, meta={"completed": completed, "total": self._total}
            )
            self._last = now


def build(task: Task[Any, Any], settings: Settings, request: GenerateReport) -> ReportReady:
    task_id = str(task.request.id)
    report_id = report_id_for(request, task_id)
    source = source_for(request)
    renderer = renderer_for(request.format)
    with engine().begin() as write:
        artifacts.lock(write, report_id)
        stored = artifacts.find(write, report_id)
        if stored is not None:
            if stored.tenant != request.tenant:
                raise ReportRejected(f"report {report_id} belongs to another tenant")
            return stored.ready
        with engine().connect() as read:
            read = read.execution_options(isolation_level="REPEATABLE READ")
            total = read.execute(
                select(func.count()).select_from(source.rows.subquery())
            ).scalar_one()
            progress = Progress(task, total, settings.report_progress_interval)
            progress.update(0, force=True)
            chart = [
                (str(plain(label)), float(value)) for label, value in read.execute(source.chart)
            ]
            heading = Heading(
                title=source.title,
                subtitle=(
                    f"tenant {request.tenant}, {request.period.start.isoformat()} to "
                    f"{request.period.end.isoformat()} (UTC)"
                ),
                columns=source.columns,
                chart_title=source.chart_title,
                chart=chart,
            )
            artifacts.begin(
                write,
                report_id,
                request,
                content_type=renderer.content_type,
                extension=renderer.extension,
                task_id=task_id,
            )
            content = artifacts.ChunkWriter(write, report_id, settings.report_chunk_bytes)
            content.write(renderer.begin(heading))
            rows = 0
            streamed = read.execution_options(yield_per=settings.report_batch_rows).execute(
                source.rows
            )
            for batch in streamed.partitions():
                content.write(renderer.rows(batch))
                rows += len(batch)
                progress.update(rows)
            content.write(renderer.end())
            sha256 = content.close()
            artifacts.finish(write, report_id, size=content.size, sha256=sha256, rows=rows)
    return ReportReady(
        report_id=report_id,
        rows=rows,
        bytes=content.size,
        content_type=renderer.content_type,
        sha256=sha256,
    )


def generate_report(
    task: Task[Any, Any], settings: Settings, kwargs: dict[str, Any]
) -> dict[str, Any]:
    """Build the report once: a rerun of the same task returns the stored artifact."""
    request: GenerateReport = parse_payload(GENERATE, kwargs)
    check(request)
    try:
        return build(task, settings, request).to_wire()
    except OperationalError as exc:
        raise task.retry(
            exc=exc,
            countdown=backoff(
                task.request.retries,
                settings.report_retry_backoff,
                settings.report_retry_backoff_max,
            ),
            max_retries=settings.report_max_retries,
        ) from None


def register(app: Celery, settings: Settings) -> None:
    """Register the report tasks on ``app``."""

    @app.task(name=GENERATE.name, bind=True, base=ContractTask)
    def generate(self: Task[Any, Any], *_parent_results: Any, **kwargs: Any) -> dict[str, Any]:
        return generate_report(self, settings, kwargs)
