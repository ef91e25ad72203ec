"""Deriving step and workflow status from Celery's result rows (pure functions).

A step's state comes from its row in ``celery_taskmeta``; the workflow's status is
derived from its steps: ``cancelled`` once cancelled, ``failed`` when a step failed (the
workflow cannot complete), ``succeeded`` when every step succeeded, ``running`` once any
step started, ``queued`` before.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from api.workflows.steps import Planned, Step

SETTLED = frozenset({"succeeded", "failed", "cancelled"})
FINAL_WORKFLOW = SETTLED

_CELERY_TO_STEP = {
    "PENDING": "queued",
    "RECEIVED": "queued",
    "STARTED": "running",
    "PROGRESS": "running",
    "RETRY": "retrying",
    "SUCCESS": "succeeded",
    "FAILURE": "failed",
    "REVOKED": "cancelled",
}


@dataclass(frozen=True)
class TaskRow:
    """The columns of one ``celery_taskmeta`` row that the status needs."""

    task_id: str
    state: str
    result: bytes | None
    date_done: datetime | None
    date_started: datetime | None
    retries: int | None
    worker: str | None


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _parse(moment: str | None) -> datetime | None:
    return None if moment is None else datetime.fromisoformat(moment)


#: What a result row holds when it is not JSON (a pickle, say): never decoded otherwise.
CORRUPT = object()
CORRUPT_ERROR = {
    "type": "CorruptResult",
    "message": "the stored result of this step was not JSON; it was refused, not decoded",
}


def _decode(raw: bytes | None) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return CORRUPT


def error_from_meta(meta: Any) -> dict[str, str]:
    """``{"type", "message"}`` from Celery's JSON-serialized exception."""
    if isinstance(meta, Mapping) and "exc_type" in meta:
        args = meta.get("exc_message")
        if isinstance(args, list | tuple):
            message = " ".join(str(arg) for arg in args)
        else:
            message = "" if args is None else str(args)
        return {"type": str(meta["exc_type"]), "message": message}
    return {"type": "Error", "message": "" if meta is None else str(meta)}


def step_from_row(step: Planned, row: TaskRow | None) -> Step:
    """A step's public view: its stored identity merged with its result row."""
    view = Step(step.name, step.task_id, cancelled=step.cancelled, cancelled_at=step.cancelled_at)
    if step.cancelled and (row is None or row.state != "SUCCESS"):
        view.status = "cancelled"
        view.finished_at = step.cancelled_at
        view.error = {"type": "Cancelled", "message": "cancelled before it started"}
        return view
    if row is None:
        return view
    status = _CELERY_TO_STEP.get(row.state, "running")
    meta = _decode(row.result)
    if meta is CORRUPT and status in ("succeeded", "retrying"):
        # Corrupt data, not a result (the worker that meets it logs it and stores the
        # failure): the step failed.
        status = "failed"
    started_at = _aware(row.date_started)
    view.status = status
    view.started_at = _iso(started_at)
    view.worker = row.worker
    if started_at is not None or status in ("running", "retrying", "succeeded", "failed"):
        view.attempts = (row.retries or 0) + 1
    if status in SETTLED:
        view.finished_at = _iso(_aware(row.date_done))
    if status == "succeeded":
        view.result = meta
    elif meta is CORRUPT and status == "failed":
        view.error = dict(CORRUPT_ERROR)
    elif status in ("failed", "retrying"):
        view.error = error_from_meta(meta)
    elif status == "cancelled":
        view.error = {"type": "Cancelled", "message": "revoked before it finished"}
    if row.state == "PROGRESS" and isinstance(meta, Mapping):
        view.progress = {
            "completed": int(meta.get("completed", 0)),
            "total": int(meta.get("total", 0)),
        }
    return view


def _skip_after_failure(shape: str, views: list[Step]) -> None:
    """In a chain, steps after a failed or cancelled one will never run: say so.

    Celery also marks a failed chain's later tasks FAILURE with the same error, although
    they never started; they are shown as not run rather than as failures of their own.
    """
    if shape != "chain":
        return
    for index, view in enumerate(views):
        if view.status in ("failed", "cancelled"):
            for later in views[index + 1 :]:
                if later.status in ("queued", "failed") and later.started_at is None:
                    later.status = "cancelled"
                    later.attempts = 0
                    later.result = None
                    later.finished_at = view.finished_at
                    later.error = {
                        "type": "NotRun",
                        "message": f"not run: step {index + 1} ({view.name}) {view.status}",
                    }
            return


def _order_chain_times(shape: str, views: list[Step]) -> None:
    """A chain step finished no later than the next one started.

    Celery publishes a chain's next task before it stores the step's result, so the
    stored ``date_done`` can trail the next step's start by a moment; the next start is
    then the truer bound on when the step finished.
    """
    if shape != "chain":
        return
    for step, after in itertools.pairwise(views):
        done, next_start = step.finished_at, after.started_at
        if done is not None and next_start is not None and next_start < done:
            step.finished_at = next_start


@dataclass(frozen=True)
class Derived:
    """A workflow's derived state."""

    status: str
    steps: list[Step]
    finished_at: datetime | None
    updated_at: datetime
    result: Any
    error: dict[str, str] | None


def derive(
    *,
    shape: str,
    stored_steps: Sequence[Planned],
    rows: Mapping[str, TaskRow],
    created_at: datetime,
    cancelled_at: datetime | None,
) -> Derived:
    """Combine a workflow's stored steps with their result rows."""
    views = [step_from_row(step, rows.get(step.task_id)) for step in stored_steps]
    _skip_after_failure(shape, views)
    _order_chain_times(shape, views)
    statuses = [view.status for view in views]

    if cancelled_at is not None:
        status = "cancelled"
    elif "failed" in statuses:
        status = "failed"
    elif statuses and all(s == "succeeded" for s in statuses):
        status = "succeeded"
    elif any(s != "queued" for s in statuses):
        status = "running"
    else:
        status = "queued"

    moments = [created_at]
    if cancelled_at is not None:
        moments.append(cancelled_at)
    # ``rows`` may hold other workflows' rows too (the tracker reads a batch at once).
    own_rows = (rows.get(step.task_id) for step in stored_steps)
    for row in (r for r in own_rows if r is not None):
        for moment in (_aware(row.date_done), _aware(row.date_started)):
            if moment is not None:
                moments.append(moment)
    finished_at: datetime | None = None
    if status in FINAL_WORKFLOW and all(s in SETTLED for s in statuses):
        ends = [m for m in (_parse(v.finished_at) for v in views) if m is not None]
        finished_at = max([*ends, *([cancelled_at] if cancelled_at else [])], default=created_at)
        moments.append(finished_at)

    return Derived(
        status=status,
        steps=views,
        finished_at=finished_at,
        updated_at=max(moments),
        result=_workflow_result(shape, views) if status == "succeeded" else None,
        error=next((v.error for v in views if v.status == "failed"), None),
    )


def initial_state(steps: Sequence[Planned], created_at: datetime) -> Derived:
    """The state of a workflow that nothing has happened to yet."""
    return derive(
        shape="single", stored_steps=steps, rows={}, created_at=created_at, cancelled_at=None
    )


def _workflow_result(shape: str, views: list[Step]) -> Any:
    if shape == "group":
        return [view.result for view in views]
    return views[-1].result if views else None


def progress(steps: Sequence[Step]) -> dict[str, int]:
    """Settled steps out of all steps."""
    return {
        "completed": sum(1 for step in steps if step.status in SETTLED),
        "total": len(steps),
    }
