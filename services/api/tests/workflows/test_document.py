"""The public status document and its ETag (built from hand-made rows, no database)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

from api.schemas import WorkflowDocument
from api.workflows.document import build, etag, etag_of, serialize
from api.workflows.status import Derived, TaskRow, derive
from api.workflows.steps import Planned

WORKFLOW_ID = UUID("0b6f7d2c-5a1e-4c3b-9a8d-2f1e0c9b8a7d")
CREATED = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)

#: The document's keys, in the order the README's public contract lists them.
DOCUMENT_KEYS = [
    "id",
    "kind",
    "status",
    "origin",
    "request_id",
    "created_at",
    "updated_at",
    "finished_at",
    "progress",
    "steps",
    "result",
    "error",
]
CONTRACT_STEP_KEYS = {
    "name",
    "task_id",
    "status",
    "attempts",
    "started_at",
    "finished_at",
    "result",
    "error",
}
#: Documented in the OpenAPI schema (api.schemas.Step) beyond the README's example.
EXTRA_STEP_KEYS = {"worker", "progress"}


def record(**overrides: Any) -> dict[str, Any]:
    return {
        "id": WORKFLOW_ID,
        "kind": "email",
        "origin": "api",
        "created_at": CREATED,
        **overrides,
    }


def steps(count: int = 2) -> list[dict[str, Any]]:
    return [{"name": "email.send", "task_id": f"t{i}"} for i in range(1, count + 1)]


def state(
    rows: list[TaskRow],
    *,
    stored: list[dict[str, Any]] | None = None,
    cancelled_at: datetime | None = None,
) -> Derived:
    return derive(
        shape="chain",
        stored_steps=[
            Planned.from_stored(step) for step in (steps() if stored is None else stored)
        ],
        rows={r.task_id: r for r in rows},
        created_at=CREATED,
        cancelled_at=cancelled_at,
    )


def success(task_id: str, started: int, done: int) -> TaskRow:
    return TaskRow(
        task_id=task_id,
        state="SUCCESS",
        result=json.dumps({"message_id": f"<{task_id}@example.org>"}).encode(),
        date_done=(CREATED + timedelta(seconds=done)).replace(tzinfo=None),
        date_started=CREATED + timedelta(seconds=started),
        retries=0,
        worker="celery@w1",
    )


def started(task_id: str, at: int) -> TaskRow:
    return TaskRow(task_id, "STARTED", None, None, CREATED + timedelta(seconds=at), 0, "celery@w1")


def assert_utc_iso(value: Any) -> datetime:
    assert isinstance(value, str)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)", value), value
    moment = datetime.fromisoformat(value)
    assert moment.utcoffset() == timedelta(0)
    return moment


def test_the_document_has_exactly_the_public_keys_in_order() -> None:
    document = build(record(), state([started("t1", 1)]))
    assert list(document) == DOCUMENT_KEYS


def test_each_step_has_the_contract_keys_and_no_internal_bookkeeping() -> None:
    cancelled = [
        {**step, "cancelled": True, "cancelled_at": CREATED.isoformat()} for step in steps()
    ]
    derived = state([], stored=cancelled, cancelled_at=CREATED)
    assert derived.steps[0].cancelled  # kept by the status for the tracker...
    assert "cancelled" in derived.steps[0].stored()
    document = build(record(), derived)
    for step in document["steps"]:
        assert set(step) == CONTRACT_STEP_KEYS | EXTRA_STEP_KEYS  # ...but never shown
        assert "cancelled" not in step
        assert "cancelled_at" not in step


def test_a_running_document_has_the_values_of_its_state() -> None:
    document = build(record(), state([success("t1", 1, 2), started("t2", 3)]))
    assert document["id"] == str(WORKFLOW_ID)
    assert document["kind"] == "email"
    assert document["origin"] == "api"
    assert document["status"] == "running"
    assert document["finished_at"] is None
    assert document["progress"] == {"completed": 1, "total": 2}
    assert document["result"] is None
    assert document["error"] is None
    first, second = document["steps"]
    assert first == {
        "name": "email.send",
        "task_id": "t1",
        "status": "succeeded",
        "attempts": 1,
        "started_at": "2025-03-01T12:00:01+00:00",
        "finished_at": "2025-03-01T12:00:02+00:00",
        "result": {"message_id": "<t1@example.org>"},
        "error": None,
        "worker": "celery@w1",
        "progress": None,
    }
    assert second["status"] == "running"
    assert second["finished_at"] is None


def test_timestamps_are_iso_8601_in_utc_with_the_offset() -> None:
    plus_two = timezone(timedelta(hours=2))
    document = build(
        record(created_at=CREATED.astimezone(plus_two)),
        state([success("t1", 1, 2), success("t2", 3, 4)]),
    )
    assert assert_utc_iso(document["created_at"]) == CREATED
    assert assert_utc_iso(document["updated_at"]) == CREATED + timedelta(seconds=4)
    assert assert_utc_iso(document["finished_at"]) == CREATED + timedelta(seconds=4)
    for step in document["steps"]:
        assert_utc_iso(step["started_at"])
        assert_utc_iso(step["finished_at"])


def test_a_finished_document_has_result_progress_and_finished_at() -> None:
    document = build(record(), state([success("t1", 1, 2), success("t2", 3, 4)]))
    assert document["status"] == "succeeded"
    assert document["progress"] == {"completed": 2, "total": 2}
    assert document["result"] == {"message_id": "<t2@example.org>"}
    assert document["finished_at"] == "2025-03-01T12:00:04+00:00"


def test_the_document_is_json_and_valid_against_the_openapi_model() -> None:
    for derived in (
        state([]),
        state([started("t1", 1)]),
        state([success("t1", 1, 2), success("t2", 3, 4)]),
        state([], stored=steps(), cancelled_at=CREATED),
    ):
        document = build(record(), derived)
        assert json.loads(json.dumps(document)) == document
        assert WorkflowDocument.model_validate(document).model_dump() == document


def test_the_etag_is_a_quoted_strong_tag_stable_for_the_same_document() -> None:
    derived = state([started("t1", 1)])
    first = build(record(), derived)
    again = build(record(), state([started("t1", 1)]))
    tag = etag(first)
    assert re.fullmatch(r'"[0-9a-f]{32}"', tag)
    assert etag(again) == tag
    # The tag is the served text's: the same document serializes to the same bytes.
    assert etag_of(serialize(first)) == tag
    assert json.loads(serialize(first)) == first


def test_the_etag_changes_when_the_status_changes() -> None:
    queued = build(record(), state([]))
    running = build(record(), state([started("t1", 1)]))
    done = build(record(), state([success("t1", 1, 2), success("t2", 3, 4)]))
    assert len({etag(queued), etag(running), etag(done)}) == 3
    # Even the top-level status alone is enough to change it.
    assert etag({**running, "status": "failed"}) != etag(running)
