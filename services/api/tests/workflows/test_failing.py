"""How a workflow that cannot finish on its own ends (pure: derived states, no database)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from api.workflows.failing import Failure, done_anyway, ended
from api.workflows.status import Derived, TaskRow, derive
from api.workflows.steps import Planned

WORKFLOW_ID = UUID("9a0e4c1b-2d3f-4e5a-8b6c-7d8e9f0a1b2c")
CREATED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
AT = CREATED + timedelta(hours=1)
LATE = {"type": "DeadlineExceeded", "message": "not finished within 3600 s of its acceptance"}


def row(task_id: str, state: str, *, result: bytes | None = None) -> TaskRow:
    started = CREATED + timedelta(seconds=5)
    done = CREATED + timedelta(seconds=9) if state in ("SUCCESS", "FAILURE") else None
    return TaskRow(task_id, state, result, done, started, 0, "worker@host")


def state(shape: str, rows: list[TaskRow], steps: int = 2, **kwargs: datetime) -> Derived:
    stored = [Planned(f"step.{n}", f"t{n}") for n in range(1, steps + 1)]
    return derive(
        shape=shape,
        stored_steps=stored,
        rows={r.task_id: r for r in rows},
        created_at=CREATED,
        cancelled_at=kwargs.get("cancelled_at"),
    )


def views(derived: Derived) -> list[dict[str, Any]]:
    """The steps as the ``steps`` column stores them."""
    return [step.stored() for step in derived.steps]


def end(
    derived: Derived,
    revoked: Collection[str],
    error: dict[str, str] = LATE,
    task: str | None = None,
) -> Derived:
    return ended(derived, Failure(WORKFLOW_ID, error, task_id=task), at=AT, revoked=revoked)


def test_a_queued_workflow_fails_with_the_error_and_its_revoked_steps_are_cancelled() -> None:
    final = end(state("group", []), revoked={"t1", "t2"})
    assert final.status == "failed"
    assert final.error == LATE
    assert final.finished_at == AT
    assert final.result is None
    assert [(s["status"], s["error"], s["finished_at"]) for s in views(final)] == [
        ("cancelled", LATE, AT.isoformat()),
        ("cancelled", LATE, AT.isoformat()),
    ]


def test_a_step_running_at_the_deadline_is_shown_failed_and_the_next_one_cancelled() -> None:
    final = end(state("chain", [row("t1", "STARTED")]), revoked={"t2"})
    assert final.status == "failed"
    first, second = views(final)
    assert (first["status"], first["error"], first["worker"]) == ("failed", LATE, "worker@host")
    assert first["started_at"] is not None  # what is known of the run is kept
    assert (second["status"], second["error"]) == ("cancelled", LATE)


def test_the_step_whose_message_was_lost_is_the_failed_one() -> None:
    lost = {"type": "Unroutable", "message": "no queue is bound to routing key 'x'"}
    final = end(state("group", []), revoked={"t1", "t2"}, error=lost, task="t2")
    assert final.error == lost
    assert [s["status"] for s in views(final)] == ["cancelled", "failed"]


def test_settled_steps_keep_their_outcome() -> None:
    done = row("t1", "SUCCESS", result=b'{"report_id": "r"}')
    final = end(state("chain", [done]), revoked={"t2"})
    first, second = views(final)
    assert (first["status"], first["result"], first["error"]) == (
        "succeeded",
        {"report_id": "r"},
        None,
    )
    assert second["status"] == "cancelled"
    assert final.updated_at == AT


def test_a_workflow_that_already_failed_keeps_its_error() -> None:
    refused = row("t1", "FAILURE", result=b'{"exc_type": "UnknownTask", "exc_message": ["x"]}')
    final = end(state("group", [refused]), revoked={"t2"})
    assert final.status == "failed"
    assert final.error == {"type": "UnknownTask", "message": "x"}
    assert [s["error"] for s in views(final)] == [
        final.error,
        final.error,
    ]
    assert final.finished_at == AT


def test_a_cancelled_workflow_with_a_step_still_running_ends_cancelled() -> None:
    cancelling = state("group", [row("t1", "STARTED")], cancelled_at=CREATED + timedelta(minutes=1))
    assert cancelling.finished_at is None
    final = end(cancelling, revoked=set())
    assert final.status == "cancelled"
    assert final.finished_at == AT
    assert views(final)[0]["status"] == "failed"
    assert views(final)[0]["error"] == LATE


def test_a_workflow_that_finished_meanwhile_is_left_as_it_is() -> None:
    succeeded = state("single", [row("t1", "SUCCESS", result=b"1")], steps=1)
    assert succeeded.finished_at is not None
    assert end(succeeded, revoked=set()) is succeeded


def test_a_lost_spare_copy_of_a_step_that_succeeded_fails_nothing() -> None:
    derived = state("chain", [row("t1", "SUCCESS", result=b"1"), row("t2", "STARTED")])
    lost = {"type": "DeadLettered", "message": "x"}
    assert done_anyway(derived, Failure(WORKFLOW_ID, lost, task_id="t1"))
    assert not done_anyway(derived, Failure(WORKFLOW_ID, lost, task_id="t2"))
    assert not done_anyway(derived, Failure(WORKFLOW_ID, lost, task_id="celery.chord_unlock"))
    assert not done_anyway(derived, Failure(WORKFLOW_ID, LATE))
