"""Deriving step and workflow status from Celery result rows (pure, no database)."""

from __future__ import annotations

import json
import pickle
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from api.workflows.status import Derived, TaskRow, derive, error_from_meta, progress
from api.workflows.status import step_from_row as derive_step
from api.workflows.steps import Planned

CREATED = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """A moment ``seconds`` after the workflow was created (aware, UTC)."""
    return CREATED + timedelta(seconds=seconds)


def naive(seconds: float) -> datetime:
    """The same moment as Celery's naive ``date_done`` column stores it (UTC, no tzinfo)."""
    return at(seconds).replace(tzinfo=None)


def row(
    task_id: str,
    state: str,
    *,
    result: Any = None,
    raw: bytes | None = None,
    started: datetime | None = None,
    done: datetime | None = None,
    retries: int | None = 0,
    worker: str | None = "celery@host",
) -> TaskRow:
    encoded = raw if raw is not None else (None if result is None else json.dumps(result).encode())
    return TaskRow(
        task_id=task_id,
        state=state,
        result=encoded,
        date_done=done,
        date_started=started,
        retries=retries,
        worker=worker,
    )


def stored(*names: str) -> list[dict[str, Any]]:
    """Stored steps as a plan creates them: ``t1``, ``t2``... task ids."""
    return [{"name": name, "task_id": f"t{i}"} for i, name in enumerate(names, start=1)]


def run(
    steps: Sequence[Mapping[str, Any]],
    rows: Sequence[TaskRow] = (),
    *,
    shape: str = "chain",
    cancelled_at: datetime | None = None,
) -> Derived:
    return derive(
        shape=shape,
        stored_steps=[Planned.from_stored(step) for step in steps],
        rows={r.task_id: r for r in rows},
        created_at=CREATED,
        cancelled_at=cancelled_at,
    )


SMTP_FAILURE = {
    "exc_type": "PermanentDeliveryError",
    "exc_message": ["SMTP 554:", "rejected"],
    "exc_module": "email_worker.smtp",
}


def step_from_row(step: Mapping[str, Any], result_row: TaskRow | None) -> dict[str, Any]:
    """A step's view as the ``steps`` column stores it."""
    return derive_step(Planned.from_stored(step), result_row).stored()


def views(derived: Derived) -> list[dict[str, Any]]:
    return [step.stored() for step in derived.steps]


# --- one step --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("PENDING", "queued"),
        ("RECEIVED", "queued"),
        ("STARTED", "running"),
        ("PROGRESS", "running"),
        ("RETRY", "retrying"),
        ("SUCCESS", "succeeded"),
        ("FAILURE", "failed"),
        ("REVOKED", "cancelled"),
        ("SOMETHING_NEW", "running"),
    ],
)
def test_celery_state_maps_to_step_status(state: str, expected: str) -> None:
    view = step_from_row({"name": "email.send", "task_id": "t1"}, row("t1", state))
    assert view["status"] == expected


def test_a_step_without_a_result_row_is_queued_and_empty() -> None:
    view = step_from_row({"name": "email.send", "task_id": "t1"}, None)
    assert view == {
        "name": "email.send",
        "task_id": "t1",
        "status": "queued",
        "attempts": 0,
        "started_at": None,
        "finished_at": None,
        "result": None,
        "error": None,
        "worker": None,
        "progress": None,
    }


@pytest.mark.parametrize(
    ("state", "retries", "started", "attempts"),
    [
        ("STARTED", 0, at(1), 1),
        ("STARTED", 2, at(1), 3),
        ("STARTED", None, at(1), 1),
        ("RETRY", 0, at(1), 1),
        ("RETRY", 4, None, 5),
        ("SUCCESS", 1, None, 2),
        ("FAILURE", 7, at(1), 8),
        ("PENDING", 0, None, 0),
        ("REVOKED", 0, None, 0),
    ],
)
def test_attempts_are_retries_plus_one_once_the_task_ran(
    state: str, retries: int | None, started: datetime | None, attempts: int
) -> None:
    view = step_from_row(
        {"name": "email.send", "task_id": "t1"},
        row("t1", state, retries=retries, started=started),
    )
    assert view["attempts"] == attempts


def test_timestamps_are_utc_iso_even_from_naive_and_offset_columns() -> None:
    plus_two = timezone(timedelta(hours=2))
    view = step_from_row(
        {"name": "email.send", "task_id": "t1"},
        row(
            "t1",
            "SUCCESS",
            result={"ok": True},
            started=at(1).astimezone(plus_two),
            done=naive(3),
        ),
    )
    assert view["started_at"] == "2025-03-01T12:00:01+00:00"
    assert view["finished_at"] == "2025-03-01T12:00:03+00:00"


@pytest.mark.parametrize("state", ["STARTED", "PROGRESS", "RETRY", "PENDING"])
def test_an_unsettled_step_has_no_finished_at_even_when_celery_set_date_done(state: str) -> None:
    view = step_from_row(
        {"name": "email.send", "task_id": "t1"}, row("t1", state, started=at(1), done=naive(2))
    )
    assert view["finished_at"] is None


def test_a_succeeded_step_carries_its_decoded_result_and_no_error() -> None:
    result = {"message_id": "<t1@example.org>", "accepted": ["ada@example.com"], "refused": []}
    view = step_from_row(
        {"name": "email.send", "task_id": "t1"},
        row("t1", "SUCCESS", result=result, started=at(1), done=naive(2), worker="w@1"),
    )
    assert view["result"] == result
    assert view["error"] is None
    assert view["worker"] == "w@1"


@pytest.mark.parametrize("state", ["FAILURE", "RETRY"])
def test_a_failed_or_retrying_step_carries_the_exception_as_error(state: str) -> None:
    view = step_from_row(
        {"name": "email.send", "task_id": "t1"}, row("t1", state, result=SMTP_FAILURE)
    )
    assert view["error"] == {"type": "PermanentDeliveryError", "message": "SMTP 554: rejected"}
    assert view["result"] is None


@pytest.mark.parametrize("state", ["SUCCESS", "RETRY", "FAILURE"])
def test_a_result_that_is_not_json_fails_the_step_saying_so_and_is_never_decoded(
    state: str,
) -> None:
    pickled = pickle.dumps({"would": "be unpickled"})
    view = step_from_row({"name": "email.send", "task_id": "t1"}, row("t1", state, raw=pickled))
    assert view["status"] == "failed"
    assert view["result"] is None
    assert view["error"]["type"] == "CorruptResult"
    assert "not JSON" in view["error"]["message"]


def test_a_running_step_with_a_corrupt_row_is_still_running() -> None:
    view = step_from_row({"name": "email.send", "task_id": "t1"}, row("t1", "STARTED", raw=b"\x80"))
    assert view["status"] == "running"
    assert view["error"] is None


def test_a_progress_row_reports_completed_and_total() -> None:
    view = step_from_row(
        {"name": "report.generate", "task_id": "t1"},
        row("t1", "PROGRESS", result={"completed": 3, "total": 10}, started=at(1)),
    )
    assert view["status"] == "running"
    assert view["progress"] == {"completed": 3, "total": 10}


def test_a_revoked_row_is_a_cancelled_step_with_a_cancelled_error() -> None:
    view = step_from_row(
        {"name": "email.send", "task_id": "t1"}, row("t1", "REVOKED", done=naive(5))
    )
    assert view["status"] == "cancelled"
    assert view["finished_at"] == at(5).isoformat()
    assert view["error"] is not None
    assert view["error"]["type"] == "Cancelled"


def test_a_step_cancelled_before_it_started_is_cancelled_at_the_cancel_time() -> None:
    step = {
        "name": "email.send",
        "task_id": "t1",
        "cancelled": True,
        "cancelled_at": at(4).isoformat(),
    }
    for result_row in (None, row("t1", "PENDING"), row("t1", "REVOKED", done=naive(4))):
        view = step_from_row(step, result_row)
        assert view["status"] == "cancelled"
        assert view["finished_at"] == at(4).isoformat()
        assert view["error"] == {"type": "Cancelled", "message": "cancelled before it started"}
        # The bookkeeping survives, so the tracker can store the view back.
        assert view["cancelled"] is True
        assert view["cancelled_at"] == at(4).isoformat()


def test_a_step_that_succeeded_despite_the_cancel_shows_its_success() -> None:
    step = {"name": "email.send", "task_id": "t1", "cancelled": True, "cancelled_at": "x"}
    view = step_from_row(step, row("t1", "SUCCESS", result=1, started=at(1), done=naive(2)))
    assert view["status"] == "succeeded"
    assert view["result"] == 1
    assert view["error"] is None


def test_error_from_meta_handles_plain_values() -> None:
    assert error_from_meta({"exc_type": "KeyError", "exc_message": "k"}) == {
        "type": "KeyError",
        "message": "k",
    }
    assert error_from_meta({"exc_type": "E", "exc_message": None}) == {"type": "E", "message": ""}
    assert error_from_meta("boom") == {"type": "Error", "message": "boom"}
    assert error_from_meta(None) == {"type": "Error", "message": ""}


# --- the workflow ---------------------------------------------------------------------


def test_in_a_chain_the_steps_after_a_failure_are_shown_as_cancelled() -> None:
    derived = run(
        stored("report.generate", "email.send", "email.send"),
        [row("t1", "FAILURE", result=SMTP_FAILURE, started=at(1), done=naive(2))],
    )
    assert [s["status"] for s in views(derived)] == ["failed", "cancelled", "cancelled"]
    for skipped in views(derived)[1:]:
        assert skipped["finished_at"] == at(2).isoformat()
        assert skipped["error"] == {
            "type": "NotRun",
            "message": "not run: step 1 (report.generate) failed",
        }
        assert skipped["attempts"] == 0
    assert derived.status == "failed"
    assert derived.finished_at == at(2)
    assert derived.error == {"type": "PermanentDeliveryError", "message": "SMTP 554: rejected"}


def test_in_a_chain_later_tasks_celery_marked_failed_without_running_are_not_run() -> None:
    # On a chain failure Celery stores FAILURE, with the same error, for every later task
    # of the chain, although none of them started.
    derived = run(
        stored("report.generate", "email.send"),
        [
            row("t1", "FAILURE", result=SMTP_FAILURE, started=at(1), done=naive(2), retries=2),
            row("t2", "FAILURE", result=SMTP_FAILURE, done=naive(2)),
        ],
    )
    failed, skipped = views(derived)
    assert (failed["status"], failed["attempts"]) == ("failed", 3)
    assert skipped["status"] == "cancelled"
    assert skipped["attempts"] == 0
    assert skipped["error"] == {
        "type": "NotRun",
        "message": "not run: step 1 (report.generate) failed",
    }
    assert derived.status == "failed"
    assert derived.error == failed["error"]
    assert progress(derived.steps) == {"completed": 2, "total": 2}


def test_in_a_chain_a_later_step_that_really_ran_keeps_its_own_status() -> None:
    derived = run(
        stored("a", "b"),
        [
            row("t1", "FAILURE", result=SMTP_FAILURE, started=at(1), done=naive(2)),
            row("t2", "SUCCESS", result=1, started=at(3), done=naive(4)),
        ],
    )
    assert [s["status"] for s in views(derived)] == ["failed", "succeeded"]


def test_in_a_chain_the_steps_after_a_revoked_step_are_shown_as_cancelled() -> None:
    derived = run(
        stored("a", "b", "c"),
        [
            row("t1", "SUCCESS", result=1, started=at(1), done=naive(2)),
            row("t2", "REVOKED", done=naive(3)),
        ],
    )
    assert [s["status"] for s in views(derived)] == ["succeeded", "cancelled", "cancelled"]
    assert views(derived)[2]["error"]["message"] == "not run: step 2 (b) cancelled"


def test_in_a_group_a_failure_does_not_cancel_the_other_members() -> None:
    derived = run(
        stored("a", "b"),
        [row("t1", "FAILURE", result=SMTP_FAILURE, started=at(1), done=naive(2))],
        shape="group",
    )
    assert [s["status"] for s in views(derived)] == ["failed", "queued"]
    assert derived.status == "failed"
    # Not every step settled: the workflow is not finished yet.
    assert derived.finished_at is None


@pytest.mark.parametrize(
    ("states", "cancelled", "expected"),
    [
        ([None, None], False, "queued"),
        (["PENDING", "RECEIVED"], False, "queued"),
        (["STARTED", None], False, "running"),
        (["SUCCESS", None], False, "running"),
        (["RETRY", None], False, "running"),
        (["SUCCESS", "SUCCESS"], False, "succeeded"),
        (["SUCCESS", "FAILURE"], False, "failed"),
        (["FAILURE", "STARTED"], False, "failed"),
        (["FAILURE", "SUCCESS"], True, "cancelled"),
        (["SUCCESS", "SUCCESS"], True, "cancelled"),
        ([None, None], True, "cancelled"),
    ],
)
def test_workflow_status_precedence(
    states: list[str | None], cancelled: bool, expected: str
) -> None:
    rows = [
        row(f"t{i}", state, result=SMTP_FAILURE if state == "FAILURE" else 1, done=naive(2))
        for i, state in enumerate(states, start=1)
        if state is not None
    ]
    derived = run(
        stored(*("x" for _ in states)),
        rows,
        shape="group",
        cancelled_at=at(5) if cancelled else None,
    )
    assert derived.status == expected


def test_finished_at_is_none_until_every_step_settled() -> None:
    steps = stored("a", "b")
    running = run(steps, [row("t1", "SUCCESS", result=1, done=naive(2))], shape="group")
    assert running.status == "running"
    assert running.finished_at is None

    done = run(
        steps,
        [
            row("t1", "SUCCESS", result=1, started=at(1), done=naive(2)),
            row("t2", "SUCCESS", result=2, started=at(1), done=naive(7)),
        ],
        shape="group",
    )
    assert done.status == "succeeded"
    assert done.finished_at == at(7)


def test_a_cancelled_workflow_with_a_step_still_running_is_not_finished() -> None:
    derived = run(
        stored("a", "b"),
        [row("t1", "STARTED", started=at(1))],
        shape="group",
        cancelled_at=at(3),
    )
    assert derived.status == "cancelled"
    assert derived.finished_at is None


def test_a_cancelled_workflow_finishes_at_its_latest_settled_moment() -> None:
    cancelled_steps = [
        {**step, "cancelled": True, "cancelled_at": at(3).isoformat()} for step in stored("a", "b")
    ]
    derived = run(cancelled_steps, cancelled_at=at(3))
    assert derived.status == "cancelled"
    assert derived.finished_at == at(3)
    assert derived.error is None
    assert derived.result is None


def test_the_workflow_result_is_the_last_steps_for_a_chain_and_all_for_a_group() -> None:
    rows = [
        row("t1", "SUCCESS", result={"n": 1}, done=naive(1)),
        row("t2", "SUCCESS", result={"n": 2}, done=naive(2)),
    ]
    assert run(stored("a", "b"), rows, shape="chain").result == {"n": 2}
    assert run(stored("a", "b"), rows, shape="group").result == [{"n": 1}, {"n": 2}]
    assert run(stored("a"), rows[:1], shape="single").result == {"n": 1}
    # Only a succeeded workflow has a result.
    assert run(stored("a", "b"), rows[:1], shape="group").result is None


def test_updated_at_is_the_latest_moment_seen() -> None:
    assert run(stored("a")).updated_at == CREATED
    derived = run(stored("a", "b"), [row("t1", "STARTED", started=at(4))], shape="group")
    assert derived.updated_at == at(4)
    assert run(stored("a"), cancelled_at=at(9)).updated_at == at(9)


def test_updated_at_ignores_result_rows_of_other_workflows() -> None:
    # The tracker and the listing read the rows of many workflows at once and hand the
    # same mapping to every derive() call: another workflow's activity must not move this
    # one's updated_at (it would change this document's ETag for nothing).
    mine = row("t1", "STARTED", started=at(4))
    theirs = row("other", "SUCCESS", result=1, started=at(50), done=naive(60))
    derived = derive(
        shape="single",
        stored_steps=[Planned.from_stored(step) for step in stored("a")],
        rows={mine.task_id: mine, theirs.task_id: theirs},
        created_at=CREATED,
        cancelled_at=None,
    )
    assert derived.updated_at == at(4)


def test_progress_counts_settled_steps() -> None:
    derived = run(
        stored("a", "b", "c", "d", "e"),
        [
            row("t1", "SUCCESS", result=1, done=naive(1)),
            row("t2", "FAILURE", result=SMTP_FAILURE, done=naive(2)),
            row("t3", "STARTED", started=at(1)),
            row("t4", "RETRY", result=SMTP_FAILURE),
        ],
        shape="group",
    )
    assert progress(derived.steps) == {"completed": 2, "total": 5}
    assert progress([]) == {"completed": 0, "total": 0}


def test_progress_counts_the_steps_a_chain_will_never_run_as_settled() -> None:
    derived = run(
        stored("a", "b", "c"),
        [row("t1", "FAILURE", result=SMTP_FAILURE, done=naive(2))],
    )
    assert progress(derived.steps) == {"completed": 3, "total": 3}
    assert derived.finished_at == at(2)


def test_a_chain_step_is_shown_finished_no_later_than_the_next_one_started() -> None:
    # Celery publishes the next task before storing the step's result.
    derived = run(
        stored("a", "b"),
        [
            row("t1", "SUCCESS", result=1, started=at(1), done=naive(4)),
            row("t2", "SUCCESS", result=2, started=at(3), done=naive(5)),
        ],
    )
    first, second = views(derived)
    assert first["finished_at"] == second["started_at"]
    assert second["finished_at"] > second["started_at"]
