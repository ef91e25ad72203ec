"""An SVG chart of a run's side-by-side figures: each measure against its references.

One panel per measure (pipeline emails/s, CPU ms per email, status reads/s, light-load
p50), a horizontal bar per stack scaled to the panel's largest, the value written beside
it and the product's ratio in the panel's title. Plain SVG text, no fonts or scripts to
fetch, so it renders the same in a browser, on GitHub and in an image viewer.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

WIDTH = 760
PANEL_GAP = 18
BAR_HEIGHT = 20
BAR_GAP = 6
LABEL_WIDTH = 110
VALUE_WIDTH = 130
TITLE_HEIGHT = 22
COLOURS = {"product": "#2b6cb0", "tutorial": "#d69e2e", "ceiling": "#718096"}


@dataclass(frozen=True)
class Panel:
    title: str
    unit: str
    #: (stack, value), in the order drawn.
    bars: list[tuple[str, float]]
    better: str  # "higher" or "lower"


def panels(figures: dict[str, Any]) -> list[Panel]:
    """The measures that have references, from a run's ``figures``."""
    pipeline = figures["pipeline_emails_per_s"]
    cpu = figures["cpu_ms_per_email"]
    reads = figures["status_reads"]
    light = figures["light_load_ms"]
    return [
        Panel(
            f"pipeline: {pipeline['ratio']}x the tutorial",
            "emails/s",
            [("product", pipeline["product"]), ("tutorial", pipeline["tutorial"])],
            "higher",
        ),
        Panel(
            f"CPU per email, every process tree: {cpu['ratio']}x the tutorial",
            "ms",
            [("product", cpu["product"]["total"]), ("tutorial", cpu["tutorial"]["total"])],
            "lower",
        ),
        Panel(
            f"status reads, 64 connections: {reads['ratio_to_ceiling']}x the ceiling",
            "reads/s",
            [
                ("product", reads["product"]["per_s"]),
                ("tutorial", reads["tutorial"]["per_s"]),
                ("ceiling", reads["ceiling"]["per_s"]),
            ],
            "higher",
        ),
        Panel(
            "light load, submit to succeeded seen (p50)",
            "ms",
            [("product", light["product"]["p50"]), ("tutorial", light["tutorial"]["p50"])],
            "lower",
        ),
    ]


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def render(result: dict[str, Any]) -> str:
    """The chart of ``result`` (a run's JSON) as an SVG document."""
    drawn = panels(result["figures"])
    height = 40 + sum(
        TITLE_HEIGHT + len(p.bars) * (BAR_HEIGHT + BAR_GAP) + PANEL_GAP for p in drawn
    )
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 20
    started = escape(str(result.get("started_at", ""))[:16].replace("T", " "))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}"'
        f' viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<text x="10" y="22" font-size="15" font-weight="bold">just bench, {started} UTC'
        f"{' (quick)' if result.get('quick') else ''}</text>",
    ]
    y = 40
    for panel in drawn:
        arrow = "higher is better" if panel.better == "higher" else "lower is better"
        parts.append(
            f'<text x="10" y="{y + 14}" font-weight="bold">{escape(panel.title)}'
            f'<tspan font-weight="normal" fill="#4a5568"> ({panel.unit}, {arrow})</tspan></text>'
        )
        y += TITLE_HEIGHT
        largest = max(value for _, value in panel.bars) or 1.0
        for stack, value in panel.bars:
            width = max(1.0, span * value / largest)
            parts += [
                f'<text x="10" y="{y + 14}">{stack}</text>',
                f'<rect class="bar {stack}" x="{LABEL_WIDTH}" y="{y}" width="{width:.1f}"'
                f' height="{BAR_HEIGHT}" fill="{COLOURS[stack]}"/>',
                f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 14}">'
                f"{_number(value)} {panel.unit}</text>",
            ]
            y += BAR_HEIGHT + BAR_GAP
        y += PANEL_GAP
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
