"""The reports domain: task ``report.generate``, its payload and result, exchange and queue."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from uuid import UUID

from pydantic import Field, model_validator

from contracts.base import Message, TaskContract
from contracts.topology import dead_letter_exchange, dead_letter_queue, domain_exchange, work_queue

GENERATE_REPORT = "report.generate"
"""Task name: build a report from PostgreSQL and store the artifact."""

MAX_PERIOD_DAYS = 366
ROUTING_KEY = f"{GENERATE_REPORT}.default"

EXCHANGE = domain_exchange("reports")
DEAD_LETTER_EXCHANGE = dead_letter_exchange("reports")
QUEUE = work_queue("reports.default", EXCHANGE, "report.#", DEAD_LETTER_EXCHANGE)
QUEUES = (QUEUE,)
DEAD_LETTER_QUEUES = (dead_letter_queue(QUEUE, DEAD_LETTER_EXCHANGE),)


class ReportKind(StrEnum):
    """What a report is about."""

    EMAIL_ACTIVITY = "email_activity"
    """Deliveries per day, lane and outcome."""
    WORKFLOW_SUMMARY = "workflow_summary"
    """Workflows per kind and status with duration percentiles."""


class ReportFormat(StrEnum):
    """The artifact's format."""

    CSV = "csv"
    JSON = "json"
    HTML = "html"


class Period(Message):
    """An inclusive range of days: ``end >= start``, at most 366 days long."""

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered_and_bounded(self) -> Period:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        if (self.end - self.start).days + 1 > MAX_PERIOD_DAYS:
            raise ValueError(f"a period covers at most {MAX_PERIOD_DAYS} days")
        return self


class GenerateReport(Message):
    """Payload of ``report.generate``.

    ``report_id`` names the artifact to create; a producer that sets it can refer to the
    report before it exists (an email in the same chain attaches it), and a rerun of the
    same task finds the stored artifact instead of building it again.
    """

    kind: ReportKind
    period: Period
    format: ReportFormat = ReportFormat.CSV
    tenant: str = Field(default="default", min_length=1, max_length=64)
    report_id: UUID | None = None


class ReportReady(Message):
    """Result of ``report.generate``."""

    report_id: UUID
    rows: int
    bytes: int
    content_type: str
    sha256: str


GENERATE = TaskContract(
    name=GENERATE_REPORT,
    payload=GenerateReport,
    result=ReportReady,
    exchange=EXCHANGE,
    queues=QUEUES,
    queue_for=lambda kwargs: QUEUE,
    routing_key_for=lambda kwargs: ROUTING_KEY,
    dead_letter_queues=DEAD_LETTER_QUEUES,
)
