"""The status updater: stored documents follow their steps' result rows, pushed.

Workers store each state change of a step in Celery's result table; a trigger there
NOTIFYs ``switchyard_steps`` with the step's workflow id (:mod:`.notifications`). The
API process holding the status leadership collects those ids and brings their documents
up to date in batches (:func:`api.workflows.refresh.refresh`); storing a changed
document NOTIFYs ``switchyard_workflows``, which wakes the long polls of every API
process. Nothing here scans unfinished workflows on a timer:

- **reconcile**, once when a process becomes leader (start-up, failover, a reconnect
  after losing the database): every unfinished workflow with a result row written since
  its document was rendered, which is what a notification sent while no leader listened
  left stale;
- **sweep**, a slow bounded repair: every :data:`SWEEP_INTERVAL` seconds the next
  :data:`SWEEP_BATCH` unfinished workflows (round robin), whatever the backlog, so its
  cost does not grow with the number of waiting workflows;
- **deadlines**, when the next one is due: the workflows past theirs fail
  (:mod:`.deadlines`, which says when it looks again).
"""

from __future__ import annotations

import time
from datetime import datetime
from uuid import UUID

import anyio
import asyncpg
import structlog

from api.metrics import WorkflowMetrics
from api.workflows import unfinished
from api.workflows.deadlines import Deadlines
from api.workflows.refresh import Finished, refresh

log = structlog.get_logger(__name__)

#: Workflows refreshed in one transaction.
BATCH = 500
#: Workflows the reconcile pass considers per query.
RECONCILE_BATCH = 2_000
SWEEP_INTERVAL = 60.0
SWEEP_BATCH = 200
MAX_BACKOFF = 10.0


class StatusUpdater:
    """Keeps documents current while this process leads (see the module's docstring)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        metrics: WorkflowMetrics | None = None,
        *,
        sweep_interval: float = SWEEP_INTERVAL,
        sweep_batch: int = SWEEP_BATCH,
        deadlines: Deadlines | None = None,
    ) -> None:
        self._pool = pool
        self._metrics = metrics
        self._deadlines = deadlines
        self._sweep_interval = sweep_interval
        self._sweep_batch = sweep_batch
        self._pending: set[UUID] = set()
        self._wake = anyio.Event()
        self._leading = False
        self._reconcile = False
        self._sweep_after: tuple[datetime, UUID] | None = None

    # --- the listener's side (Leadership) ------------------------------------------

    def step_changed(self, payload: str) -> None:
        try:
            self._pending.add(UUID(payload))
        except ValueError:
            return
        self._wake.set()

    def gained(self) -> None:
        self._leading = True
        self._reconcile = True
        self._wake.set()

    def lost(self) -> None:
        self._leading = False
        self._pending.clear()

    # --- the work ------------------------------------------------------------------

    async def run(self) -> None:
        backoff = 0.0
        sweep_due = time.monotonic() + self._sweep_interval
        deadlines_due = time.monotonic()
        while True:
            due = min(sweep_due, deadlines_due)
            timeout = max(backoff, due - time.monotonic()) if self._leading else None
            with anyio.move_on_after(timeout if timeout is not None else float("inf")):
                await self._wake.wait()
            self._wake = anyio.Event()
            if not self._leading:
                sweep_due = time.monotonic() + self._sweep_interval
                deadlines_due = time.monotonic()  # a new leader looks at once
                continue
            try:
                if self._reconcile:
                    await self.reconcile()
                    self._reconcile = False
                await self.drain()
                if time.monotonic() >= deadlines_due:
                    deadlines_due = time.monotonic() + await self.enforce_deadlines()
                if time.monotonic() >= sweep_due:
                    await self.sweep()
                    sweep_due = time.monotonic() + self._sweep_interval
                backoff = 0.0
            except Exception as exc:  # the database is away, most likely: try again
                backoff = min(MAX_BACKOFF, max(0.5, backoff * 2))
                log.warning("status update failed; will retry", error=repr(exc), retry=backoff)

    async def drain(self) -> int:
        """Refresh every workflow announced so far; how many were refreshed."""
        done = 0
        while self._pending and self._leading:
            batch = [self._pending.pop() for _ in range(min(BATCH, len(self._pending)))]
            try:
                async with self._pool.acquire() as conn:
                    finished = await refresh(conn, batch)
            except BaseException:
                self._pending.update(batch)
                raise
            self._report(finished)
            done += len(batch)
        return done

    async def reconcile(self) -> int:
        """Queue every unfinished workflow a missed notification may have left stale."""
        after = None
        found = 0
        while True:
            changed, after = await unfinished.unfinished_changed(
                self._pool, after=after, limit=RECONCILE_BATCH
            )
            found += len(changed)
            self._pending.update(changed)
            await self.drain()
            if after is None:
                break
        log.info("status reconciled", stale=found)
        return found

    async def sweep(self) -> int:
        """Refresh the next window of unfinished workflows; how many it looked at."""
        rows = await unfinished.unfinished_after(
            self._pool, after=self._sweep_after, limit=self._sweep_batch
        )
        self._sweep_after = (rows[-1]["created_at"], rows[-1]["id"]) if rows else None
        if rows:
            async with self._pool.acquire() as conn:
                self._report(await refresh(conn, [row["id"] for row in rows]))
        return len(rows)

    async def enforce_deadlines(self) -> float:
        """Fail the workflows past their deadline; seconds until the next look."""
        if self._deadlines is None:
            return float("inf")
        finished, wait = await self._deadlines.enforce()
        self._report(finished)
        return wait

    def _report(self, finished: list[Finished]) -> None:
        for workflow in finished:
            log.info(
                "workflow finished",
                workflow_id=str(workflow.workflow_id),
                request_id=workflow.request_id,
                kind=workflow.kind,
                status=workflow.status,
            )
            if self._metrics is not None:
                self._metrics.done(
                    workflow.kind, workflow.status, workflow.created_at, workflow.finished_at
                )
