"""Bringing workflows' stored documents up to date with their steps' result rows.

The one place a workflow's state is derived and stored: the status updater calls it for
the workflows whose steps it was told changed, the reconcile pass and the sweep for the
ones a notification may have missed, a cancel for the one it cancels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from api.db import Connection, Row
from api.workflows import document, task_results, workflow_rows
from api.workflows.status import Derived, TaskRow, derive
from api.workflows.steps import Planned


@dataclass(frozen=True)
class Finished:
    """A workflow whose document was just stored as finished (counted once, here)."""

    workflow_id: UUID
    kind: str
    status: str
    request_id: str | None
    created_at: datetime
    finished_at: datetime


def state_of(
    record: Row,
    rows: Mapping[str, TaskRow],
    *,
    steps: Sequence[Planned] | None = None,
    cancelled_at: datetime | None = None,
) -> Derived:
    """``record``'s state given its steps' result rows."""
    return derive(
        shape=record["shape"],
        stored_steps=workflow_rows.stored_steps(record) if steps is None else steps,
        rows=rows,
        created_at=record["created_at"],
        cancelled_at=cancelled_at if cancelled_at is not None else record["cancelled_at"],
    )


def render(record: Row, state: Derived) -> workflow_rows.Saved:
    text = document.serialize(document.build(record, state))
    return workflow_rows.Saved(record["id"], state, text, document.etag_of(text))


async def refresh(conn: Connection, workflow_ids: Sequence[UUID]) -> list[Finished]:
    """Derive these workflows again and store each document that changed.

    Finished workflows are left as they are (their documents are final). The rows are
    locked while this runs, so a cancel and a refresh of one workflow take turns; result
    rows are read after the lock, so they are at least as new as the change announced.
    """
    finished: list[Finished] = []
    async with conn.transaction():
        records = await workflow_rows.records(
            conn, workflow_ids, unfinished_only=True, for_update=True
        )
        if not records:
            return finished
        rows = await task_results.task_rows(
            conn,
            (step.task_id for record in records for step in workflow_rows.stored_steps(record)),
        )
        changed = []
        for record in records:
            saved = render(record, state_of(record, rows))
            if saved.etag == record["etag"]:
                continue
            changed.append(saved)
            end = saved.state.finished_at
            if end is not None:
                finished.append(
                    Finished(
                        record["id"],
                        record["kind"],
                        saved.state.status,
                        record["request_id"],
                        record["created_at"],
                        end,
                    )
                )
        await workflow_rows.save(conn, changed)
    return finished
