"""The benchmark's chart: one bar per stack and measure, scaled within each panel."""

from __future__ import annotations

import importlib.util
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

# The suite runs as ``python -m bench`` from the checkout, not as an installed package.
_SPEC = importlib.util.spec_from_file_location(
    "bench_chart", Path(__file__).resolve().parent.parent / "bench" / "chart.py"
)
assert _SPEC is not None and _SPEC.loader is not None
chart = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = chart
_SPEC.loader.exec_module(chart)

SVG = "{http://www.w3.org/2000/svg}"

FIGURES: dict[str, Any] = {
    "pipeline_emails_per_s": {"product": 200.0, "tutorial": 100.0, "ratio": 2.0},
    "cpu_ms_per_email": {
        "product": {"total": 5.0, "api": 2.0},
        "tutorial": {"total": 10.0, "api": 1.0},
        "ratio": 0.5,
    },
    "status_reads": {
        "product": {"per_s": 4000.0, "p50_ms": 10.0, "p99_ms": 40.0},
        "tutorial": {"per_s": 100.0, "p50_ms": 300.0, "p99_ms": 8000.0},
        "ceiling": {"per_s": 5000.0, "p50_ms": 9.0, "p99_ms": 20.0},
        "ratio_to_ceiling": 0.8,
    },
    "light_load_ms": {
        "product": {"p50": 15.0, "p99": 20.0},
        "tutorial": {"p50": 30.0, "p99": 40.0},
    },
}


def bars(svg: str) -> dict[str, list[float]]:
    root = ET.fromstring(svg)
    found: dict[str, list[float]] = {}
    for rect in root.iter(f"{SVG}rect"):
        classes = (rect.get("class") or "").split()
        if "bar" in classes:
            found.setdefault(classes[1], []).append(float(rect.get("width", "0")))
    return found


def test_each_measure_has_a_bar_per_stack_scaled_to_its_largest() -> None:
    svg = chart.render({"figures": FIGURES, "started_at": "2026-12-02T00:34:00", "quick": False})
    drawn = bars(svg)
    assert len(drawn["product"]) == 4 and len(drawn["tutorial"]) == 4
    assert len(drawn["ceiling"]) == 1
    pipeline_product, pipeline_tutorial = drawn["product"][0], drawn["tutorial"][0]
    assert pipeline_product == 2 * pipeline_tutorial
    cpu_product, cpu_tutorial = drawn["product"][1], drawn["tutorial"][1]
    assert cpu_tutorial == 2 * cpu_product
    assert "2.0x the tutorial" in svg and "0.8x the ceiling" in svg
    assert "200 emails/s" in svg and "5,000 reads/s" in svg
