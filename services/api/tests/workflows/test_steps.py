"""Steps are typed objects; the JSON they are stored and shown as keeps its shape."""

from __future__ import annotations

from api.workflows.steps import STEP_FIELDS, Planned, Step


def test_a_planned_step_is_stored_as_its_name_and_task_and_read_back() -> None:
    step = Planned("email.send", "t1")
    assert step.stored() == {"name": "email.send", "task_id": "t1"}
    assert Planned.from_stored(step.stored()) == step


def test_a_cancel_s_marks_are_stored_and_read_back_from_a_stored_view() -> None:
    step = Planned("email.send", "t1", cancelled=True, cancelled_at="2026-12-01T09:00:00+00:00")
    assert step.stored() == {
        "name": "email.send",
        "task_id": "t1",
        "cancelled": True,
        "cancelled_at": "2026-12-01T09:00:00+00:00",
    }
    view = Step("email.send", "t1", status="cancelled", cancelled=True, cancelled_at="x")
    assert Planned.from_stored(view.stored()) == Planned("email.send", "t1", True, "x")


def test_a_view_shows_the_document_s_fields_in_order_and_stores_its_marks_first() -> None:
    view = Step(
        "report.generate",
        "t2",
        status="succeeded",
        attempts=1,
        result={"n": 1},
        cancelled=True,
        cancelled_at="x",
    )
    assert list(view.public()) == list(STEP_FIELDS)
    assert list(view.stored()) == ["cancelled", "cancelled_at", *STEP_FIELDS]
    assert Step.from_stored(view.stored()) == view
    plain = Step("email.send", "t3")
    assert list(plain.stored()) == list(STEP_FIELDS)
    assert Step.from_stored({"name": "email.send", "task_id": "t3"}) == plain
