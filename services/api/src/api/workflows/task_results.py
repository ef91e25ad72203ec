"""Celery's result table (``celery_taskmeta``) as the API reads and marks it: the rows
of a workflow's tasks, and revoking the tasks that have not started."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from api.db import Connection, Executor
from api.workflows.status import TaskRow


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
