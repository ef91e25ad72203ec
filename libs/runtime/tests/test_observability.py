"""A worker's task log context and task metrics, driven through its signal receivers."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from celery import Celery
from celery.exceptions import Reject

from switchyard_runtime.logs import configure_logging
from switchyard_runtime.observability import WorkerInstruments, task_context


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


class FakeRequest(dict[str, Any]):
    retries = 0


class FakeTask:
    name = "email.send"

    def __init__(self, **headers: Any) -> None:
        self.request = FakeRequest(headers)


class Recorded:
    """Stands in for :class:`switchyard_runtime.metrics.TaskMetrics`."""

    def __init__(self) -> None:
        self.finished_calls: list[tuple[str, str, float | None]] = []
        self.dead: list[tuple[str, str]] = []
        self.dead_lettered = self

    def finished(self, task: str, outcome: str, seconds: float | None) -> None:
        self.finished_calls.append((task, outcome, seconds))

    def labels(self, *values: str) -> Recorded:
        self.dead.append((values[0], values[1]))
        return self

    def inc(self) -> None:
        pass


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_task_context_reads_the_ids_the_api_put_in_the_headers() -> None:
    task = FakeTask(request_id="r-1", workflow_id="w-1")
    assert task_context(task, "t-1") == {
        "request_id": "r-1",
        "workflow_id": "w-1",
        "task_id": "t-1",
        "task_name": "email.send",
    }
    assert task_context(FakeTask(), "t-2")["request_id"] is None  # e.g. sent by the scheduler


def test_every_line_of_a_task_carries_its_ids_and_none_after_it(
    app: Celery, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("email-worker")
    instruments = WorkerInstruments(app, "email-worker", "127.0.0.1", 0)
    task = FakeTask(request_id="r-1", workflow_id="w-1")

    instruments.on_task_prerun(task_id="t-1", task=task)
    logging.getLogger("email_worker.smtp").info("delivering")
    instruments.on_task_postrun(task_id="t-1", task=task, state="SUCCESS")
    logging.getLogger("celery").info("idle")

    started, delivering, finished, idle = lines(capsys.readouterr().err)
    for line in (started, delivering, finished):
        assert line["request_id"] == "r-1"
        assert line["workflow_id"] == "w-1"
        assert line["task_id"] == "t-1"
        assert line["task_name"] == "email.send"
        assert line["service"] == "email-worker"
    assert started["event"] == "task started"
    assert finished["event"] == "task finished"
    assert finished["outcome"] == "succeeded"
    assert finished["duration_s"] >= 0
    assert "request_id" not in idle and "task_id" not in idle


@pytest.mark.parametrize(
    ("state", "outcome"),
    [
        ("SUCCESS", "succeeded"),
        ("FAILURE", "failed"),
        ("RETRY", "retried"),
        ("IGNORED", "ignored"),
        ("REJECTED", "rejected"),
        ("SOMETHING", "something"),
    ],
)
def test_outcomes_are_counted_by_task_name(app: Celery, state: str, outcome: str) -> None:
    instruments = WorkerInstruments(app, "email-worker", "127.0.0.1", 0)
    instruments.metrics = recorded = Recorded()
    task = FakeTask()

    instruments.on_task_prerun(task_id="t", task=task)
    instruments.on_task_postrun(task_id="t", task=task, state=state)

    [(name, counted, seconds)] = recorded.finished_calls
    assert (name, counted) == ("email.send", outcome)
    assert seconds is not None and seconds >= 0


def test_a_task_rejecting_its_message_without_requeue_is_dead_lettered(app: Celery) -> None:
    instruments = WorkerInstruments(app, "email-worker", "127.0.0.1", 0)
    instruments.metrics = recorded = Recorded()
    task = FakeTask()

    instruments.on_task_postrun(task_id="a", task=task, state="REJECTED", retval=Reject("x"))
    instruments.on_task_postrun(
        task_id="b", task=task, state="REJECTED", retval=Reject("y", requeue=True)
    )

    assert recorded.dead == [("email.send", "rejected")]
    assert [outcome for _, outcome, _ in recorded.finished_calls] == ["rejected", "rejected"]


def test_refused_and_unknown_messages_are_counted_by_reason(app: Celery) -> None:
    instruments = WorkerInstruments(app, "email-worker", "127.0.0.1", 0)
    instruments.metrics = recorded = Recorded()

    class Message:
        def __init__(self) -> None:
            self.headers = {"task": "report.generate"}

    instruments.on_task_unknown(name="nobody.runs.this")
    instruments.on_task_rejected(message=Message(), exc=ValueError("bad"))
    instruments.on_task_rejected(message=None, exc=None)

    assert recorded.dead == [
        ("nobody.runs.this", "UnknownTask"),
        ("report.generate", "ValueError"),
        ("", "InvalidMessage"),
    ]
