"""Failing a workflow that cannot finish on its own: past its deadline, its message lost,
or its message never taken by the broker (the outbox relay gave up on it).

A workflow fails here in one transaction, the way a cancel ends one: its row is locked,
its steps are derived from their result rows, the steps that have not started are
marked ``REVOKED`` in Celery's result table (every worker skips those, and a revoke
broadcast stops them sooner), and its final document is stored, which wakes the long
polls of every API process. A finished document is final: the status updater never
derives it again, so a late result cannot overwrite the failure.

What each unfinished step shows, with the workflow's error:

- a step that had not started: ``cancelled`` (it never runs, even redelivered);
- a step that was running: ``failed``. It is not interrupted: an email halfway through
  SMTP or a report halfway through its rows has no safe point to stop at, and Celery
  cannot terminate a thread. Its own outcome still reaches Celery's result table;
- the step whose message was lost: ``failed``.

A workflow whose derived state is already final keeps it: one that just succeeded stays
succeeded, one that failed (a worker refused its message with the reason, say) or was
cancelled keeps that status and error, and only ends. A lost message of a step that had
succeeded was a spare copy (publishing is at-least-once): it fails nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from uuid import UUID

import structlog
from celery import Celery
from celery.exceptions import OperationalError as BrokerUnreachable

from api.db import Connection
from api.workflows import task_results, values, workflow_rows
from api.workflows.refresh import Finished, render, state_of
from api.workflows.status import FINAL_WORKFLOW, SETTLED, Derived

log = structlog.get_logger(__name__)

#: Step statuses of a task that has not started (its message waits, or waits again).
NOT_STARTED = ("queued", "retrying")


@dataclass(frozen=True)
class Failure:
    """Why a workflow fails: ``error`` is ``{"type", "message"}``."""

    workflow_id: UUID
    error: dict[str, str]
    #: The step whose message was lost, if the failure is about one.
    task_id: str | None = None


@dataclass(frozen=True)
class Failed:
    """What :func:`fail` did: the workflows it ended, and the tasks it revoked."""

    finished: list[Finished] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)


def done_anyway(state: Derived, failure: Failure) -> bool:
    """Whether the step whose message was lost had succeeded: a spare copy was lost
    (publishing is at-least-once), not the work, so the workflow carries on."""
    return failure.task_id is not None and any(
        step.task_id == failure.task_id and step.status == "succeeded" for step in state.steps
    )


def ended(state: Derived, failure: Failure, *, at: datetime, revoked: Collection[str]) -> Derived:
    """``state`` ended at ``at`` by ``failure`` (the module's docstring says how)."""
    if state.finished_at is not None:
        return state
    if state.status in FINAL_WORKFLOW:
        status, error = state.status, state.error
    else:
        status, error = "failed", failure.error
    moment = at.astimezone(UTC).isoformat()
    steps = []
    for step in state.steps:
        if step.status in SETTLED:
            steps.append(step)
            continue
        not_run = step.task_id in revoked and step.task_id != failure.task_id
        steps.append(
            replace(
                step,
                status="cancelled" if not_run else "failed",
                finished_at=moment,
                error=error or failure.error,
            )
        )
    return replace(
        state,
        status=status,
        steps=steps,
        finished_at=at,
        updated_at=max(state.updated_at, at),
        result=None,
        error=error,
    )


async def fail(conn: Connection, failures: Sequence[Failure]) -> Failed:
    """End each unfinished workflow of ``failures`` with its failure, in one transaction.

    Finished ones are left as they are, so failing one twice (two copies of a lost
    message, a deadline and a lost message at once) stores one outcome; so is one whose
    lost message's step had succeeded (:func:`done_anyway`). The caller
    sends the revoke broadcast (:func:`broadcast_revoke`) once this has committed.
    """
    by_id = {failure.workflow_id: failure for failure in failures}
    done = Failed()
    if not by_id:
        return done
    async with conn.transaction():
        records = await workflow_rows.records(
            conn, list(by_id), unfinished_only=True, for_update=True
        )
        rows = await task_results.task_rows(
            conn,
            (step.task_id for record in records for step in workflow_rows.stored_steps(record)),
        )
        at = values.now()
        saved = []
        for record in records:
            failure = by_id[record["id"]]
            state = state_of(record, rows)
            if done_anyway(state, failure):
                continue
            revoked: set[str] = set()
            if state.finished_at is None:
                waiting = [s.task_id for s in state.steps if s.status in NOT_STARTED]
                revoked = await task_results.revoke_unstarted(conn, waiting, record["id"])
            final = ended(state, failure, at=at, revoked=revoked)
            saved.append(render(record, final))
            done.revoked.extend(sorted(revoked))
            done.finished.append(
                Finished(
                    record["id"],
                    record["kind"],
                    final.status,
                    record["request_id"],
                    record["created_at"],
                    final.finished_at or at,
                )
            )
        await workflow_rows.save(conn, saved)
    return done


def broadcast_revoke(app: Celery, task_ids: Sequence[str]) -> None:
    """Ask every worker to drop these tasks (blocking: call it off the event loop).

    Without a broker the broadcast is skipped: the ``REVOKED`` marks alone stop them.
    """
    if not task_ids:
        return
    try:
        app.control.revoke(sorted(task_ids))
    except (OSError, BrokerUnreachable) as exc:
        log.warning("revoke broadcast not sent; the REVOKED marks hold", error=str(exc))
