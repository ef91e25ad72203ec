"""The report task's own rules: ids, the period it accepts, and progress updates."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts import GenerateReport
from report_worker import tasks
from report_worker.artifacts import ChunkWriter, filename

TODAY = datetime.now(UTC).date()


def request(**overrides: Any) -> GenerateReport:
    fields: dict[str, Any] = {
        "kind": "email_activity",
        "period": {"start": TODAY - timedelta(days=7), "end": TODAY},
        "format": "csv",
        "tenant": "acme",
        **overrides,
    }
    return GenerateReport.model_validate(fields)


def test_the_producers_report_id_wins() -> None:
    chosen = uuid.uuid4()
    assert tasks.report_id_for(request(report_id=chosen), "task-1") == chosen


def test_without_one_the_id_is_derived_from_the_task_so_a_rerun_finds_it() -> None:
    first = tasks.report_id_for(request(), "task-1")
    assert first == tasks.report_id_for(request(), "task-1")
    assert first != tasks.report_id_for(request(), "task-2")


def test_a_period_starting_after_today_is_rejected() -> None:
    tasks.check(request())
    later = {"start": TODAY + timedelta(days=1), "end": TODAY + timedelta(days=2)}
    with pytest.raises(tasks.ReportRejected, match="after today"):
        tasks.check(request(period=later))


def test_the_file_name_says_what_and_when() -> None:
    period = {"start": "2026-11-01", "end": "2026-11-30"}
    assert filename(request(period=period), "csv") == "email_activity-2026-11-01-2026-11-30.csv"


class RecordingTask:
    def __init__(self) -> None:
        self.states: list[tuple[str, dict[str, int]]] = []

    def update_state(self, state: str, meta: dict[str, int]) -> None:
        self.states.append((state, meta))


def test_progress_is_a_custom_state_throttled_by_interval() -> None:
    task = RecordingTask()
    progress = tasks.Progress(task, total=100, interval=3600)  # type: ignore[arg-type]
    progress.update(0, force=True)
    progress.update(10)
    progress.update(20)
    progress.update(100, force=True)
    assert task.states == [
        ("PROGRESS", {"completed": 0, "total": 100}),
        ("PROGRESS", {"completed": 100, "total": 100}),
    ]


class RecordingConnection:
    def __init__(self) -> None:
        self.chunks: list[tuple[int, bytes]] = []

    def execute(self, statement: Any) -> None:
        values = statement.compile().params
        self.chunks.append((values["seq"], values["data"]))


def test_content_is_stored_in_ordered_chunks_of_the_given_size() -> None:
    conn = RecordingConnection()
    writer = ChunkWriter(conn, uuid.uuid4(), chunk_size=4)  # type: ignore[arg-type]
    for piece in (b"abc", b"defgh", b"ij"):
        writer.write(piece)
    digest = writer.close()
    assert conn.chunks == [(0, b"abcd"), (1, b"efgh"), (2, b"ij")]
    assert writer.size == 10

    assert digest == hashlib.sha256(b"abcdefghij").hexdigest()


def test_an_empty_artifact_still_has_one_chunk() -> None:
    conn = RecordingConnection()
    ChunkWriter(conn, uuid.uuid4(), chunk_size=4).close()  # type: ignore[arg-type]
    assert conn.chunks == [(0, b"")]
