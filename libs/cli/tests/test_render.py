"""What swy shows: a document's steps, one line per change off a terminal, JSON as it came."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from switchyard_cli import render
from switchyard_client import WorkflowDocument

STEP = {
    "name": "report.generate",
    "task_id": "t1",
    "status": "running",
    "attempts": 2,
    "started_at": "2026-12-01T09:30:00+00:00",
    "finished_at": None,
    "result": None,
    "error": None,
    "worker": "report-worker@host",
    "progress": {"completed": 40, "total": 60},
}


def document(**changes: object) -> WorkflowDocument:
    body = {
        "id": "w1",
        "kind": "report",
        "status": "running",
        "origin": "api",
        "request_id": "req-1",
        "created_at": "2026-12-01T09:30:00+00:00",
        "updated_at": "2026-12-01T09:30:00+00:00",
        "finished_at": None,
        "progress": {"completed": 0, "total": 2},
        "steps": [STEP, {**STEP, "name": "email.send", "status": "queued", "progress": None}],
        "result": None,
        "error": None,
        **changes,
    }
    return WorkflowDocument.from_dict(body)


def shown(renderable: object) -> str:
    console = Console(file=io.StringIO(), width=160, color_system=None)
    console.print(renderable)
    output = console.file.getvalue()
    assert isinstance(output, str)
    return output


def test_a_document_shows_each_steps_progress() -> None:
    output = shown(render.document(document()))
    assert "report w1  running  0/2 steps done" in output
    report_row = next(line for line in output.splitlines() if "report.generate" in line)
    assert report_row.split() == [
        "report.generate",
        "running",
        "2",
        "report-worker@host",
        "40/60",
        "rows",
    ]
    assert "email.send" in output


def test_a_failed_document_shows_why() -> None:
    error = {"type": "ReportRejected", "message": "the period ends after today"}
    output = shown(render.document(document(status="failed", error=error)))
    assert "ReportRejected: the period ends after today" in output


def test_off_a_terminal_each_change_is_one_line() -> None:
    assert render.one_line(document()) == (
        "w1 running 0/2: report.generate running, email.send queued"
    )


def test_json_is_printed_as_the_api_sent_it(capsys: pytest.CaptureFixture[str]) -> None:
    render.raw(b'{"workflow_id":"w1"}')
    render.raw({"id": "r1", "path": "r.csv"})
    assert capsys.readouterr().out == '{"workflow_id":"w1"}\n{"id": "r1", "path": "r.csv"}\n'
