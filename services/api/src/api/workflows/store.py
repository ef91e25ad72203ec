"""Reading and writing workflows in PostgreSQL (asyncpg, plain SQL).

Each workflow row holds the status document API consumers read, already rendered
(``document``, JSON text kept as written) with its ``ETag``; the status updater
(:mod:`api.workflows.updater`) renders it again whenever one of its steps changes, so a
status read is one indexed read of that row. Steps are also kept as data (``steps``), to
derive the next document from.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from api.access import quotas
from api.db import Connection, Executor, Row
from api.workflows import document
from api.workflows.plans import Plan
from api.workflows.status import Derived, TaskRow

#: Columns a status derivation needs (``document`` and ``request`` left out).
RECORD_COLUMNS = (
    "id, tenant, kind, shape, origin, request_id, status, created_at, updated_at, "
    "finished_at, cancelled_at, steps, result, error, etag"
)

#: Channel the relay listens on: an outbox row committed by another process.
OUTBOX_CHANNEL = "switchyard_outbox"


def now() -> datetime:
    return datetime.now(UTC)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def loads(value: str | None) -> Any:
    return None if value is None else json.loads(value)


def _create_sql(notify: bool, charge: bool) -> str:
    # One statement, so one round trip and one implicit transaction: the workflow, its
    # outbox message and its quota counting are committed together or not at all. The
    # outbox row is selected from the charge, which is so evaluated (an unreferenced
    # plain CTE would not be) and which fails the whole statement past a quota.
    returning = f" RETURNING pg_notify('{OUTBOX_CHANNEL}', '')" if notify else ""
    charged = (
        ", charged AS (SELECT api.charge_quotas($2, $14, $15, $7, $16, $17) AS ok)"
        if charge
        else ""
    )
    return (
        "WITH workflow AS ("
        " INSERT INTO api.workflows (id, tenant, kind, shape, origin, request_id, status,"
        " created_at, updated_at, request, steps, document, etag, deadline_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $7, $8::jsonb, $9::jsonb, $10::json, $11,"
        f" $13)){charged}"
        " INSERT INTO api.outbox (workflow_id, message, created_at)"
        + (" SELECT $1, $12::jsonb, $7 FROM charged" if charge else " VALUES ($1, $12::jsonb, $7)")
        + returning
    )


_CREATE = {
    (notify, charge): _create_sql(notify, charge)
    for notify in (False, True)
    for charge in (False, True)
}


async def create(
    executor: Executor,
    plan: Plan,
    *,
    tenant: str,
    request: Mapping[str, Any],
    deadline: timedelta,
    origin: str = "api",
    request_id: str | None = None,
    notify_relay: bool = False,
    charge: quotas.Charge | None = None,
) -> datetime:
    """Store the workflow (its first document included) and its outbox message.

    With ``charge``, the same statement counts it against its tenant's quotas: past one
    it fails with the ``asyncpg.RaiseError`` that :func:`api.access.quotas.exceeded`
    reads, and nothing is stored.

    Past ``deadline`` from now, the status leader fails it if it has not finished
    (:mod:`api.workflows.deadlines`). ``notify_relay`` tells the API's relays through
    PostgreSQL that a message waits: a process without a relay of its own (the intake
    worker) sets it.
    """
    created_at = now()
    first = document.initial(plan, created_at=created_at, origin=origin, request_id=request_id)
    text = document.serialize(first)
    charging = (
        ()
        if charge is None
        else (
            charge.recipients,
            charge.reports,
            charge.default_recipients_per_day,
            charge.default_reports_per_hour,
        )
    )
    await executor.execute(
        _CREATE[notify_relay, charge is not None],
        plan.workflow_id,
        tenant,
        plan.kind,
        plan.shape,
        origin,
        request_id,
        created_at,
        dumps(dict(request)),
        dumps(plan.steps),
        text,
        document.etag_of(text),
        dumps(plan.canvas),
        created_at + deadline,
        *charging,
    )
    return created_at


def parse_id(value: str) -> UUID | None:
    """The UUID in ``value``, or ``None`` when it is not one (that id cannot exist)."""
    try:
        return UUID(value)
    except ValueError:
        return None


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


def stored_steps(record: Row) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = loads(record["steps"])
    return steps


async def task_rows(executor: Executor, task_ids: Iterable[str]) -> dict[str, TaskRow]:
    """The result rows of these tasks (missing ones have not been stored yet)."""
    ids = list(task_ids)
    if not ids:
        return {}
    rows = await executor.fetch(
        "SELECT t.task_id, t.status, t.result, t.date_done, t.date_started, t.retries, t.worker"
        " FROM unnest($1::text[]) AS wanted(task_id)"
        " JOIN celery_taskmeta AS t ON t.task_id = wanted.task_id",
        ids,
    )
    return {
        row["task_id"]: TaskRow(
            task_id=row["task_id"],
            state=row["status"],
            result=row["result"],
            date_done=row["date_done"],
            date_started=row["date_started"],
            retries=row["retries"],
            worker=row["worker"],
        )
        for row in rows
    }


@dataclass(frozen=True)
class Saved:
    """A workflow's new state and the document rendered from it."""

    workflow_id: UUID
    state: Derived
    text: str
    etag: str


async def save(conn: Connection, saved: Sequence[Saved]) -> None:
    """Store new states and documents (one statement, executed for each: a batch).

    A trigger tells every API process listening that these documents changed.
    """
    if not saved:
        return
    await conn.executemany(
        "UPDATE api.workflows SET status = $2, steps = $3::jsonb, updated_at = $4,"
        " finished_at = $5, result = $6::jsonb, error = $7::jsonb, document = $8::json,"
        " etag = $9 WHERE id = $1",
        [
            (
                item.workflow_id,
                item.state.status,
                dumps(item.state.steps),
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
    conn: Connection, workflow_id: UUID, steps: list[dict[str, Any]], at: datetime
) -> None:
    await conn.execute(
        "UPDATE api.workflows SET cancelled_at = $2, steps = $3::jsonb WHERE id = $1",
        workflow_id,
        at,
        dumps(steps),
    )


#: Marks tasks REVOKED in Celery's result table unless they already started or finished;
#: returns the ids it marked. Workers skip a task whose stored state is REVOKED.
_REVOKE = """
    INSERT INTO celery_taskmeta (id, task_id, status, date_done, workflow_id)
    SELECT nextval('task_id_sequence'), task_id, 'REVOKED', timezone('utc', now()), $2
    FROM unnest($1::text[]) AS task_id
    ON CONFLICT (task_id) DO UPDATE
        SET status = 'REVOKED', date_done = excluded.date_done
        WHERE celery_taskmeta.status IN ('PENDING', 'RECEIVED', 'RETRY')
    RETURNING task_id
"""


async def revoke_unstarted(conn: Connection, task_ids: list[str], workflow_id: UUID) -> set[str]:
    """Mark the tasks that have not started as REVOKED; return those marked."""
    if not task_ids:
        return set()
    rows = await conn.fetch(_REVOKE, task_ids, str(workflow_id))
    return {row["task_id"] for row in rows}


@dataclass(frozen=True)
class Cursor:
    """A position in the newest-first listing: after (created_at, id)."""

    created_at: datetime
    id: UUID

    def encode(self) -> str:
        raw = json.dumps([self.created_at.isoformat(), str(self.id)]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor:
        """Raises ``ValueError`` for anything this API did not hand out."""
        try:
            padded = value + "=" * (-len(value) % 4)
            created_at, workflow_id = json.loads(base64.urlsafe_b64decode(padded))
            if not isinstance(workflow_id, str):  # UUID() raises AttributeError on others
                raise TypeError("workflow id is not a string")
            moment = datetime.fromisoformat(created_at)
            if moment.tzinfo is None:
                raise ValueError("naive timestamp")
            return cls(moment, UUID(workflow_id))
        except (binascii.Error, TypeError, ValueError, UnicodeDecodeError) as exc:
            raise ValueError("invalid cursor") from exc


async def page(
    executor: Executor,
    *,
    tenant: str,
    kind: str | None,
    status: str | None,
    limit: int,
    after: Cursor | None,
) -> tuple[list[str], Cursor | None]:
    """One page of documents, newest first, and the cursor of the next page."""
    conditions = ["tenant = $1"]
    arguments: list[Any] = [tenant]
    if kind is not None:
        arguments.append(kind)
        conditions.append(f"kind = ${len(arguments)}")
    if status is not None:
        arguments.append(status)
        conditions.append(f"status = ${len(arguments)}")
    if after is not None:
        arguments.extend([after.created_at, after.id])
        at, key = len(arguments) - 1, len(arguments)
        conditions.append(f"(created_at < ${at} OR (created_at = ${at} AND id < ${key}))")
    arguments.append(limit + 1)
    rows = await executor.fetch(
        f"SELECT id, created_at, document FROM api.workflows WHERE {' AND '.join(conditions)}"
        f" ORDER BY created_at DESC, id DESC LIMIT ${len(arguments)}",
        *arguments,
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = Cursor(rows[-1]["created_at"], rows[-1]["id"])
    return [row["document"] for row in rows], next_cursor


async def unfinished_changed(
    executor: Executor, *, after: tuple[datetime, UUID] | None, limit: int
) -> tuple[list[UUID], tuple[datetime, UUID] | None]:
    """Unfinished workflows, oldest first, that have a result row written since (or up
    to a minute before, for clocks that disagree) their document was last rendered.

    The reconcile pass's work list: what a missed notification may have left stale.
    Returns the ids and where the next batch starts (``None`` at the end).
    """
    arguments: list[Any] = [limit]
    position = ""
    if after is not None:
        arguments.extend(after)
        position = " AND (w.created_at > $2 OR (w.created_at = $2 AND w.id > $3))"
    rows = await executor.fetch(
        "SELECT w.id, w.created_at,"
        " EXISTS (SELECT 1 FROM jsonb_array_elements(w.steps) AS step"
        "  JOIN celery_taskmeta AS t ON t.task_id = step->>'task_id'"
        "  WHERE t.date_done >= timezone('utc', w.updated_at) - interval '1 minute') AS changed"
        f" FROM api.workflows AS w WHERE w.finished_at IS NULL{position}"
        " ORDER BY w.created_at, w.id LIMIT $1",
        *arguments,
    )
    if not rows:
        return [], None
    last = rows[-1]
    following = (last["created_at"], last["id"]) if len(rows) == limit else None
    return [row["id"] for row in rows if row["changed"]], following


async def unfinished_after(
    executor: Executor, *, after: tuple[datetime, UUID] | None, limit: int
) -> list[asyncpg.Record]:
    """The next ``limit`` unfinished workflows after ``after`` (the sweep's window)."""
    if after is None:
        rows: list[asyncpg.Record] = await executor.fetch(
            "SELECT id, created_at FROM api.workflows WHERE finished_at IS NULL"
            " ORDER BY created_at, id LIMIT $1",
            limit,
        )
        return rows
    rows = await executor.fetch(
        "SELECT id, created_at FROM api.workflows WHERE finished_at IS NULL"
        " AND (created_at > $2 OR (created_at = $2 AND id > $3))"
        " ORDER BY created_at, id LIMIT $1",
        limit,
        *after,
    )
    return rows


async def ping(executor: Executor) -> None:
    await executor.fetchval("SELECT 1")
