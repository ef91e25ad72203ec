"""The ``api.workflows`` rows: their stored documents, their state, and saving a new one.

Each workflow row holds the status document API consumers read, already rendered
(``document``, JSON text kept as written) with its ``ETag``; the status updater
(:mod:`api.workflows.updater`) renders it again whenever one of its steps changes, so a
status read is one indexed read of that row. Steps are also kept as data (``steps``), to
derive the next document from. New rows are written by :mod:`api.workflows.creation`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from api.db import Connection, Executor, Row
from api.workflows.status import Derived
from api.workflows.steps import Planned, Step
from api.workflows.values import dumps, loads

#: Columns a status derivation needs (``document`` and ``request`` left out).
RECORD_COLUMNS = (
    "id, tenant, kind, shape, origin, request_id, status, created_at, updated_at, "
    "finished_at, cancelled_at, steps, result, error, etag"
)


@dataclass(frozen=True)
class Stored:
    """A workflow's stored document, as served."""

    text: str
    etag: str
    finished: bool


async def read(executor: Executor, workflow_id: UUID, tenant: str) -> Stored | None:
    """The tenant's workflow's document: one primary-key read."""
    row = await executor.fetchrow(
        "SELECT document, etag, finished_at IS NOT NULL AS finished FROM api.workflows"
        " WHERE id = $1 AND tenant = $2",
        workflow_id,
        tenant,
    )
    return None if row is None else Stored(row["document"], row["etag"], row["finished"])


async def records(
    conn: Connection,
    workflow_ids: Sequence[UUID],
    *,
    tenant: str | None = None,
    unfinished_only: bool = False,
    for_update: bool = False,
) -> list[asyncpg.Record]:
    """The rows of these workflows (their steps and state), optionally locked.

    A join with the ids, so that each is a primary-key lookup whatever the planner
    thinks of the table (``id = ANY(...) AND finished_at IS NULL`` can pick the index of
    unfinished workflows and read them all).
    """
    query = (
        f"SELECT {', '.join(f'w.{column}' for column in RECORD_COLUMNS.split(', '))}"
        " FROM unnest($1::uuid[]) AS wanted(id) JOIN api.workflows AS w ON w.id = wanted.id"
    )
    arguments: list[Any] = [list(workflow_ids)]
    conditions = []
    if tenant is not None:
        arguments.append(tenant)
        conditions.append("w.tenant = $2")
    if unfinished_only:
        conditions.append("w.finished_at IS NULL")
    if conditions:
        query += " WHERE " + " AND ".join(conditions)
    if for_update:
        query += " ORDER BY w.id FOR UPDATE OF w"
    rows: list[asyncpg.Record] = await conn.fetch(query, *arguments)
    return rows


def stored_steps(record: Row) -> list[Planned]:
    """What each of ``record``'s steps is (its task, and a cancel's marks)."""
    return [Planned.from_stored(step) for step in loads(record["steps"])]


def stored_views(record: Row) -> list[Step]:
    """``record``'s steps as its stored document last showed them."""
    return [Step.from_stored(step) for step in loads(record["steps"])]


@dataclass(frozen=True)
class Saved:
    """A workflow's new state and the document rendered from it."""

    workflow_id: UUID
    state: Derived
    text: str
    etag: str


async def save(conn: Connection, saved: Sequence[Saved]) -> None:
    """Store new states and documents (one statement, executed for each: a batch).

    A trigger tells every API process listening that these documents changed. The
    status column is read from each document, so what the listing filters on is what it
    shows.
    """
    if not saved:
        return
    await conn.executemany(
        "UPDATE api.workflows SET status = $7::json->>'status', steps = $2::jsonb,"
        " updated_at = $3, finished_at = $4, result = $5::jsonb, error = $6::jsonb,"
        " document = $7::json, etag = $8 WHERE id = $1",
        [
            (
                item.workflow_id,
                dumps([step.stored() for step in item.state.steps]),
                item.state.updated_at,
                item.state.finished_at,
                None if item.state.result is None else dumps(item.state.result),
                None if item.state.error is None else dumps(item.state.error),
                item.text,
                item.etag,
            )
            for item in saved
        ],
    )


async def mark_cancelled(
    conn: Connection, workflow_id: UUID, steps: Sequence[Planned], at: datetime
) -> None:
    """Mark the workflow cancelled at ``at``, with its steps' cancel marks."""
    await conn.execute(
        "UPDATE api.workflows SET cancelled_at = $2, steps = $3::jsonb WHERE id = $1",
        workflow_id,
        at,
        dumps([step.stored() for step in steps]),
    )
