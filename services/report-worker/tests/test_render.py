"""Renderers turn batches of rows into bytes that parse back to the same rows."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal

import pytest

from contracts import ReportFormat
from report_worker.render import Heading, renderer_for, svg_bar_chart

HEADING = Heading(
    title="Email activity",
    subtitle="tenant acme",
    columns=("day", "lane", "deliveries"),
    chart_title="per day",
    chart=[("2026-11-01", 3.0), ("2026-11-02", 1.0)],
)
BATCHES: list[list[tuple[object, ...]]] = [
    [(date(2026, 11, 1), "bulk", 2), (date(2026, 11, 1), "transactional", 1)],
    [(date(2026, 11, 2), "bulk <&>", Decimal("1.5"))],
]


def render(fmt: ReportFormat) -> bytes:
    renderer = renderer_for(fmt)
    parts = [renderer.begin(HEADING), *(renderer.rows(b) for b in BATCHES), renderer.end()]
    return b"".join(parts)


def test_csv_has_the_header_then_every_row() -> None:
    rows = list(csv.reader(io.StringIO(render(ReportFormat.CSV).decode())))
    assert rows == [
        ["day", "lane", "deliveries"],
        ["2026-11-01", "bulk", "2"],
        ["2026-11-01", "transactional", "1"],
        ["2026-11-02", "bulk <&>", "1.5"],
    ]


def test_json_streams_one_valid_document() -> None:
    document = json.loads(render(ReportFormat.JSON))
    assert document["title"] == "Email activity"
    assert document["columns"] == ["day", "lane", "deliveries"]
    assert document["rows"][0] == {"day": "2026-11-01", "lane": "bulk", "deliveries": 2}
    assert document["rows"][2]["deliveries"] == 1.5
    assert len(document["rows"]) == 3


def test_json_without_rows_is_still_valid() -> None:
    renderer = renderer_for(ReportFormat.JSON)
    document = json.loads(renderer.begin(HEADING) + renderer.end())
    assert document["rows"] == []


def test_html_puts_the_chart_above_an_escaped_table() -> None:
    page = render(ReportFormat.HTML).decode()
    assert page.index("<svg") < page.index("<table")
    assert page.count("<rect") == 2
    assert "<td>bulk &lt;&amp;&gt;</td>" in page
    assert page.count("<tr>") == 1 + 3


@pytest.mark.parametrize(
    ("fmt", "content_type", "extension"),
    [
        (ReportFormat.CSV, "text/csv; charset=utf-8", "csv"),
        (ReportFormat.JSON, "application/json", "json"),
        (ReportFormat.HTML, "text/html; charset=utf-8", "html"),
    ],
)
def test_each_format_names_its_content_type(
    fmt: ReportFormat, content_type: str, extension: str
) -> None:
    renderer = renderer_for(fmt)
    assert (renderer.content_type, renderer.extension) == (content_type, extension)


def test_an_empty_chart_says_so() -> None:
    assert "no data" in svg_bar_chart("t", [])
    assert "no data" not in svg_bar_chart("t", [("a", 1.0)])


def test_bars_scale_to_the_largest_value() -> None:
    svg = svg_bar_chart("t", [("a", 10.0), ("b", 5.0)])
    heights = [float(part.split('"')[0]) for part in svg.split('height="')[2:]]
    assert heights[0] == pytest.approx(2 * heights[1])
