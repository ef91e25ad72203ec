"""Deadlines: a workflow still unfinished at its ``deadline_at`` fails as ``DeadlineExceeded``.

Every workflow gets a deadline when it is accepted (``DEADLINE_<KIND>`` seconds after,
:meth:`api.config.Settings.deadline_of`), so one whose message never reaches a worker
ends all the same, and a scheduled one frees its schedule.

The status leader enforces them (:class:`api.workflows.updater.StatusUpdater` calls
:meth:`Deadlines.enforce` when it is due). Nothing scans the unfinished workflows: both
reads go through the partial index of unfinished rows by deadline, the expired ones
(oldest deadline first, a batch at a time) and the next deadline (the index's first
entry). The leader then sleeps until the earliest of that deadline, :data:`MAX_WAIT`, and
the shortest deadline of any kind: a workflow accepted after this look cannot be due
before that, so no wake-up is needed from the processes that accept work. With the
default deadlines an idle leader reads one index entry a minute, whatever the backlog.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import anyio
import asyncpg
import structlog
from celery import Celery

from api.workflows.failing import Failure, broadcast_revoke, fail
from api.workflows.refresh import Finished

log = structlog.get_logger(__name__)

#: Expired workflows failed in one transaction.
BATCH = 100
#: The longest the leader goes without looking at the next deadline (seconds).
MAX_WAIT = 60.0

#: The expired workflows, oldest deadline first (by the partial index).
EXPIRED = (
    "SELECT id, created_at, deadline_at FROM api.workflows"
    " WHERE finished_at IS NULL AND deadline_at <= now() ORDER BY deadline_at LIMIT $1"
)
#: Seconds to the next deadline (the index's first entry), by the database's clock, as
#: the expired ones are: API hosts' clocks may differ.
NEXT_DEADLINE = (
    "SELECT extract(epoch FROM min(deadline_at) - now())::float8 FROM api.workflows"
    " WHERE finished_at IS NULL"
)


def exceeded(created_at: datetime, deadline_at: datetime) -> dict[str, str]:
    """The error of a workflow that did not finish by ``deadline_at``."""
    allowed = (deadline_at - created_at).total_seconds()
    return {
        "type": "DeadlineExceeded",
        "message": f"not finished within {allowed:g} s of its acceptance"
        f" (deadline {deadline_at.astimezone(UTC).isoformat()})",
    }


class Deadlines:
    """Fails the workflows past their deadline; run by the status leader only."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        celery_app: Celery,
        *,
        shortest: timedelta,
        batch: int = BATCH,
        max_wait: float = MAX_WAIT,
    ) -> None:
        self._pool = pool
        self._celery = celery_app
        self._wait = min(max_wait, shortest.total_seconds())
        self._batch = batch

    async def enforce(self) -> tuple[list[Finished], float]:
        """Fail every workflow past its deadline: those failed, and the seconds to wait
        before the next look."""
        finished: list[Finished] = []
        while True:
            rows = await self._pool.fetch(EXPIRED, self._batch)
            if rows:
                finished += await self._fail(rows)
            if len(rows) < self._batch:
                break
        until = await self._pool.fetchval(NEXT_DEADLINE)
        return finished, self._wait if until is None else max(0.0, min(self._wait, until))

    async def _fail(self, rows: Sequence[asyncpg.Record]) -> list[Finished]:
        failures = [
            Failure(row["id"], exceeded(row["created_at"], row["deadline_at"])) for row in rows
        ]
        async with self._pool.acquire() as conn:
            failed = await fail(conn, failures)
        for workflow in failed.finished:
            log.warning(
                "workflow ended at its deadline",
                workflow_id=str(workflow.workflow_id),
                request_id=workflow.request_id,
                kind=workflow.kind,
                status=workflow.status,
            )
        if failed.revoked:
            await anyio.to_thread.run_sync(broadcast_revoke, self._celery, failed.revoked)
        return failed.finished
