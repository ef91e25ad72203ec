"""The reports domain: Period, GenerateReport, ReportReady and the route of report.generate."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any
from uuid import uuid4

import pytest
from pydantic import ValidationError

from contracts import (
    GENERATE_REPORT,
    GenerateReport,
    Period,
    ReportFormat,
    ReportKind,
    ReportReady,
)
from contracts import reports as reports_domain
from contracts.reports import GENERATE, MAX_PERIOD_DAYS

START = date(2024, 1, 1)


def test_single_day_period() -> None:
    period = Period(start=START, end=START)
    assert period.start == period.end == START


def test_period_of_exactly_the_maximum_length() -> None:
    end = START + timedelta(days=MAX_PERIOD_DAYS - 1)
    assert end == date(2024, 12, 31)  # 2024 is a leap year: 366 days
    assert Period(start=START, end=end).end == end


def test_period_one_day_too_long() -> None:
    with pytest.raises(ValidationError, match=f"at most {MAX_PERIOD_DAYS} days"):
        Period(start=START, end=START + timedelta(days=MAX_PERIOD_DAYS))


def test_period_end_before_start() -> None:
    with pytest.raises(ValidationError, match="end must not be before start"):
        Period(start=START, end=START - timedelta(days=1))


def test_period_from_wire_strings() -> None:
    period = Period.from_wire({"start": "2024-02-01", "end": "2024-02-29", "tz": "UTC"})
    assert period == Period(start=date(2024, 2, 1), end=date(2024, 2, 29))


@pytest.mark.parametrize("bad", ["2024-02-30", "yesterday", "", None])
def test_period_rejects_bad_dates(bad: Any) -> None:
    with pytest.raises(ValidationError):
        Period.from_wire({"start": bad, "end": "2024-03-01"})


def report_payload(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": "email_activity",
        "period": {"start": "2024-01-01", "end": "2024-01-31"},
    }
    data.update(overrides)
    return data


def test_generate_report_defaults() -> None:
    report = GenerateReport.from_wire(report_payload())

    assert report.kind is ReportKind.EMAIL_ACTIVITY
    assert report.format is ReportFormat.CSV
    assert report.tenant == "default"
    assert report.report_id is None
    assert report.period == Period(start=date(2024, 1, 1), end=date(2024, 1, 31))


@pytest.mark.parametrize(
    ("overrides", "loc"),
    [
        pytest.param({"kind": "sales"}, ("kind",), id="unknown-kind"),
        pytest.param({"format": "pdf"}, ("format",), id="unknown-format"),
        pytest.param({"tenant": ""}, ("tenant",), id="empty-tenant"),
        pytest.param({"tenant": "t" * 65}, ("tenant",), id="tenant-too-long"),
        pytest.param({"report_id": "nope"}, ("report_id",), id="bad-report-id"),
        pytest.param(
            {"period": {"start": "2024-02-01", "end": "2024-01-01"}}, ("period",), id="reversed"
        ),
        pytest.param(
            {"period": {"start": "2023-01-01", "end": "2024-01-02"}}, ("period",), id="too-long"
        ),
    ],
)
def test_generate_report_rejects(overrides: dict[str, Any], loc: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError) as info:
        GenerateReport.from_wire(report_payload(**overrides))
    assert loc in {tuple(error["loc"]) for error in info.value.errors()}


def test_generate_report_wire_round_trip() -> None:
    report_id = uuid4()
    report = GenerateReport(
        kind=ReportKind.WORKFLOW_SUMMARY,
        period=Period(start=date(2024, 3, 1), end=date(2024, 3, 31)),
        format=ReportFormat.HTML,
        tenant="acme",
        report_id=report_id,
    )

    wire = report.to_wire()

    assert wire == {
        "kind": "workflow_summary",
        "period": {"start": "2024-03-01", "end": "2024-03-31"},
        "format": "html",
        "tenant": "acme",
        "report_id": str(report_id),
    }
    assert json.loads(json.dumps(wire)) == wire
    assert GenerateReport.from_wire({**wire, "priority": 1}) == report


def test_enum_wire_values() -> None:
    assert {kind.value for kind in ReportKind} == {"email_activity", "workflow_summary"}
    assert {fmt.value for fmt in ReportFormat} == {"csv", "json", "html"}


def test_report_ready_round_trip() -> None:
    report_id = uuid4()
    ready = ReportReady(
        report_id=report_id, rows=3, bytes=120, content_type="text/csv", sha256="ab" * 32
    )

    wire = ready.to_wire()

    assert wire == {
        "report_id": str(report_id),
        "rows": 3,
        "bytes": 120,
        "content_type": "text/csv",
        "sha256": "ab" * 32,
    }
    assert ReportReady.from_wire(wire) == ready


def test_report_ready_requires_every_field() -> None:
    with pytest.raises(ValidationError) as info:
        ReportReady.from_wire({"report_id": str(uuid4())})
    assert {error["loc"][0] for error in info.value.errors()} == {
        "rows",
        "bytes",
        "content_type",
        "sha256",
    }


@pytest.mark.parametrize("kwargs", [{}, {"kind": "email_activity"}, {"format": "json"}])
def test_generate_contract_routes_to_the_default_queue(kwargs: dict[str, Any]) -> None:
    assert GENERATE.route(kwargs) == {
        "queue": "reports.default",
        "exchange": "reports",
        "routing_key": "report.generate.default",
    }


def test_generate_contract_shape() -> None:
    assert GENERATE.name == GENERATE_REPORT == "report.generate"
    assert GENERATE.payload is GenerateReport
    assert GENERATE.result is ReportReady
    assert GENERATE.exchange is reports_domain.EXCHANGE
    assert [q.name for q in GENERATE.queues] == ["reports.default"]
    assert [q.name for q in GENERATE.dead_letter_queues] == ["reports.default.dlq"]
