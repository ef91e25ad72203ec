"""Turning streamed rows into an artifact's bytes: CSV, JSON or an HTML page with a chart.

A renderer is fed the header, then batches of rows, then the end; it returns bytes as it
goes and keeps nothing but a running count, so memory does not grow with the rows.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from html import escape
from typing import Protocol

from contracts import ReportFormat

Row = Sequence[object]


@dataclass(frozen=True)
class Heading:
    """What a report says about itself before its rows."""

    title: str
    subtitle: str
    columns: tuple[str, ...]
    chart_title: str
    chart: list[tuple[str, float]]


def plain(value: object) -> object:
    """A cell as a JSON-friendly value."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


class Renderer(Protocol):
    content_type: str
    extension: str

    def begin(self, heading: Heading) -> bytes: ...

    def rows(self, batch: Sequence[Row]) -> bytes: ...

    def end(self) -> bytes: ...


class CsvRenderer:
    content_type = "text/csv; charset=utf-8"
    extension = "csv"

    def _lines(self, rows: Sequence[Row]) -> bytes:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerows(
            [[plain(cell) for cell in row] for row in rows]
        )
        return buffer.getvalue().encode()

    def begin(self, heading: Heading) -> bytes:
        return self._lines([heading.columns])

    def rows(self, batch: Sequence[Row]) -> bytes:
        return self._lines(batch)

    def end(self) -> bytes:
        return b""


class JsonRenderer:
    """``{"title", "subtitle", "columns", "rows": [{column: value}, ...]}``, streamed."""

    content_type = "application/json"
    extension = "json"

    def __init__(self) -> None:
        self._columns: tuple[str, ...] = ()
        self._first = True

    def begin(self, heading: Heading) -> bytes:
        self._columns = heading.columns
        head = json.dumps(
            {"title": heading.title, "subtitle": heading.subtitle, "columns": heading.columns}
        )
        return (head[:-1] + ', "rows": [').encode()

    def rows(self, batch: Sequence[Row]) -> bytes:
        parts = []
        for row in batch:
            item = json.dumps(dict(zip(self._columns, map(plain, row), strict=True)))
            parts.append(item if self._first else "," + item)
            self._first = False
        return "".join(parts).encode()

    def end(self) -> bytes:
        return b"]}\n"


CHART_WIDTH, CHART_HEIGHT, CHART_MARGIN = 760, 220, 30


def svg_bar_chart(title: str, points: list[tuple[str, float]]) -> str:
    """An inline SVG bar chart, one bar per point, scaled to the largest value."""
    top = max((value for _, value in points), default=0) or 1
    slot = (CHART_WIDTH - 2 * CHART_MARGIN) / max(len(points), 1)
    bars = []
    for index, (label, value) in enumerate(points):
        height = (CHART_HEIGHT - 2 * CHART_MARGIN) * value / top
        x = CHART_MARGIN + index * slot
        y = CHART_HEIGHT - CHART_MARGIN - height
        bars.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(slot * 0.8, 1):.1f}" '
            f'height="{height:.1f}" fill="#4c78a8"><title>{escape(label)}: {value:g}</title>'
            "</rect>"
        )
    axis = (
        f'<line x1="{CHART_MARGIN}" y1="{CHART_HEIGHT - CHART_MARGIN}" '
        f'x2="{CHART_WIDTH - CHART_MARGIN}" y2="{CHART_HEIGHT - CHART_MARGIN}" stroke="#333"/>'
    )
    empty = ""
    if not points:
        middle = f'x="{CHART_WIDTH / 2}" y="{CHART_HEIGHT / 2}"'
        empty = f'<text {middle} text-anchor="middle">no data</text>'
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{CHART_WIDTH}" '
        f'height="{CHART_HEIGHT}" aria-label="{escape(title)}">'
        f'<text x="{CHART_MARGIN}" y="18" font-weight="bold">{escape(title)} '
        f"(max {top:g})</text>{axis}{''.join(bars)}{empty}</svg>"
    )


class HtmlRenderer:
    content_type = "text/html; charset=utf-8"
    extension = "html"

    def begin(self, heading: Heading) -> bytes:
        header_cells = "".join(f"<th>{escape(column)}</th>" for column in heading.columns)
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(heading.title)}</title><style>"
            "body{font-family:system-ui,sans-serif;margin:2rem;color:#222}"
            "table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3rem .6rem}"
            "th{background:#f3f3f3;text-align:left}td{text-align:right}"
            "</style></head><body>"
            f"<h1>{escape(heading.title)}</h1><p>{escape(heading.subtitle)}</p>"
            f"{svg_bar_chart(heading.chart_title, heading.chart)}"
            f"<table><thead><tr>{header_cells}</tr></thead><tbody>"
        ).encode()

    def rows(self, batch: Sequence[Row]) -> bytes:
        return "".join(
            "<tr>" + "".join(f"<td>{escape(str(plain(cell)))}</td>" for cell in row) + "</tr>"
            for row in batch
        ).encode()

    def end(self) -> bytes:
        return b"</tbody></table></body></html>\n"


def renderer_for(format: ReportFormat) -> Renderer:
    renderers: dict[ReportFormat, type[Renderer]] = {
        ReportFormat.CSV: CsvRenderer,
        ReportFormat.JSON: JsonRenderer,
        ReportFormat.HTML: HtmlRenderer,
    }
    return renderers[format]()
