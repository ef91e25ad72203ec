"""What each report kind is computed from: the rows it streams and the chart above them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, cast, extract, func, literal, select
from sqlalchemy.types import Date, Numeric

from contracts import GenerateReport, ReportKind
from report_worker.tables import deliveries, workflows


@dataclass(frozen=True)
class Source:
    """A report's rows (streamed) and its chart series (small: one point per label)."""

    title: str
    columns: tuple[str, ...]
    rows: Select[*tuple[Any, ...]]
    chart_title: str
    chart: Select[*tuple[Any, ...]]


def _bounds(request: GenerateReport) -> tuple[datetime, datetime]:
    """The period as a half-open range of UTC instants: [start 00:00, end + 1 day 00:00)."""
    start = datetime.combine(request.period.start, time(0), tzinfo=UTC)
    end = datetime.combine(request.period.end + timedelta(days=1), time(0), tzinfo=UTC)
    return start, end


def email_activity(request: GenerateReport) -> Source:
    """Deliveries per day, lane and outcome."""
    start, end = _bounds(request)
    day = cast(func.timezone("UTC", deliveries.c.attempted_at), Date).label("day")
    scope = (
        deliveries.c.tenant == request.tenant,
        deliveries.c.attempted_at >= start,
        deliveries.c.attempted_at < end,
    )
    rows = (
        select(
            day,
            deliveries.c.lane,
            deliveries.c.outcome,
            func.count().label("deliveries"),
            func.coalesce(func.sum(deliveries.c.recipients), 0).label("recipients"),
        )
        .where(*scope)
        .group_by(day, deliveries.c.lane, deliveries.c.outcome)
        .order_by(day, deliveries.c.lane, deliveries.c.outcome)
    )
    chart = select(day, func.count()).where(*scope).group_by(day).order_by(day)
    return Source(
        title="Email activity",
        columns=("day", "lane", "outcome", "deliveries", "recipients"),
        rows=rows,
        chart_title="Delivery attempts per day",
        chart=chart,
    )


def _seconds(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """A duration in seconds, rounded to milliseconds."""
    return func.round(cast(value, Numeric), 3)


def workflow_summary(request: GenerateReport) -> Source:
    """Workflows per kind and status, with duration percentiles (finished ones)."""
    start, end = _bounds(request)
    seconds = extract("epoch", workflows.c.finished_at - workflows.c.created_at)
    scope = (
        workflows.c.tenant == request.tenant,
        workflows.c.created_at >= start,
        workflows.c.created_at < end,
    )
    rows = (
        select(
            workflows.c.kind,
            workflows.c.status,
            func.count().label("workflows"),
            _seconds(func.percentile_cont(0.5).within_group(seconds)).label("p50_seconds"),
            _seconds(func.percentile_cont(0.95).within_group(seconds)).label("p95_seconds"),
            _seconds(func.max(seconds)).label("max_seconds"),
        )
        .where(*scope)
        .group_by(workflows.c.kind, workflows.c.status)
        .order_by(workflows.c.kind, workflows.c.status)
    )
    label = (workflows.c.kind + literal(" / ") + workflows.c.status).label("label")
    chart = select(label, func.count()).where(*scope).group_by(label).order_by(label)
    return Source(
        title="Workflow summary",
        columns=("kind", "status", "workflows", "p50_seconds", "p95_seconds", "max_seconds"),
        rows=rows,
        chart_title="Workflows per kind and status",
        chart=chart,
    )


SOURCES: dict[ReportKind, Callable[[GenerateReport], Source]] = {
    ReportKind.EMAIL_ACTIVITY: email_activity,
    ReportKind.WORKFLOW_SUMMARY: workflow_summary,
}


def source_for(request: GenerateReport) -> Source:
    return SOURCES[request.kind](request)
