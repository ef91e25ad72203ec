"""Copies step states from Celery's result table into the API's workflow rows.

Status reads merge live result rows themselves; the tracker keeps the stored status
current for listings and filters, and freezes a finished workflow's document in the
API's own table before Celery's result clean-up deletes the rows it came from. One API
replica tracks at a time (a transaction-level advisory lock).
"""

from __future__ import annotations

from typing import Any

import anyio
import structlog
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.metrics import WorkflowMetrics
from api.workflows import store
from api.workflows.status import Derived, derive

log = structlog.get_logger(__name__)

#: Advisory lock key: one tracker pass at a time across API replicas.
TRACKER_LOCK = 0x7472_6163  # "trac"
BATCH = 500


class Tracker:
    """Runs :meth:`sync` every ``interval`` seconds until cancelled."""

    def __init__(
        self, engine: AsyncEngine, interval: float, metrics: WorkflowMetrics | None = None
    ) -> None:
        self._engine = engine
        self._interval = interval
        self._metrics = metrics

    async def run(self) -> None:
        while True:
            try:
                await self.sync()
            except Exception:
                log.exception("tracker pass failed")
            await anyio.sleep(self._interval)

    async def sync(self) -> int:
        """One pass over every unfinished workflow; returns how many rows changed."""
        changed = 0
        after = None
        while True:
            finished = []
            async with self._engine.begin() as conn:
                got_lock = await conn.scalar(
                    select(text(f"pg_try_advisory_xact_lock({TRACKER_LOCK})"))
                )
                if not got_lock:
                    return changed
                records = await store.unfinished(conn, after=after, limit=BATCH)
                if not records:
                    return changed
                rows = await store.task_rows(
                    conn, (step["task_id"] for r in records for step in r["steps"])
                )
                changes = []
                for record in records:
                    if record["cancelled_at"] is None and not any(
                        step["task_id"] in rows for step in record["steps"]
                    ):
                        continue  # no step has a result row yet: nothing to copy
                    state = derive(
                        shape=record["shape"],
                        stored_steps=record["steps"],
                        rows=rows,
                        created_at=record["created_at"],
                        cancelled_at=record["cancelled_at"],
                    )
                    if (
                        state.status != record["status"]
                        or state.updated_at != record["updated_at"]
                        or state.finished_at is not None
                        or state.steps != record["steps"]
                    ):
                        changes.append(
                            store.SavedState(
                                record["id"],
                                status=state.status,
                                steps=state.steps,
                                updated_at=state.updated_at,
                                finished_at=state.finished_at,
                                result=state.result,
                                error=state.error,
                            )
                        )
                        if state.finished_at is not None:
                            finished.append((record, state))
                await store.save_states(conn, changes)
                changed += len(changes)
            # Counted once committed: a pass that rolled back saved nothing.
            for record, state in finished:
                self._finished(record, state)
            after = records[-1]["created_at"]
            if len(records) < BATCH:
                return changed

    def _finished(self, record: Any, state: Derived) -> None:
        log.info(
            "workflow finished",
            workflow_id=str(record["id"]),
            request_id=record["request_id"],
            kind=record["kind"],
            status=state.status,
        )
        if self._metrics is not None and state.finished_at is not None:
            self._metrics.done(
                record["kind"], state.status, record["created_at"], state.finished_at
            )
