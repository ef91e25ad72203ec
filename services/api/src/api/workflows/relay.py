"""The outbox relay: publishes committed workflow messages to RabbitMQ.

The API commits a workflow and its outbox message in one statement and answers 202; the
relay then publishes a batch of messages, waits for the broker to confirm them all
(:mod:`api.workflows.publisher`, in a thread: publishing blocks) and deletes the
confirmed ones. A crash in between leaves the messages in the outbox, so they are
published again: delivery is at least once, and the workers tolerate the duplicate (same
task id). While the broker is down, messages wait in the outbox and the API keeps
accepting work.

It runs when there is something to publish: woken in process by a submission, through
PostgreSQL (``switchyard_outbox``) by the intake worker, and by the notification
listener's every (re)connect; after a failure it retries with a backoff. With nothing to
publish it does nothing at all.
"""

from __future__ import annotations

import json

import anyio
import asyncpg
import structlog
from celery import Celery

from api.workflows.publisher import CONFIRM_TIMEOUT, BatchPublisher

log = structlog.get_logger(__name__)

BATCH = 100
MAX_BACKOFF = 10.0

_TAKE = (
    "SELECT o.id, o.message, o.workflow_id, w.request_id FROM api.outbox AS o"
    " LEFT JOIN api.workflows AS w ON w.id = o.workflow_id"
    " ORDER BY o.id LIMIT $1 FOR UPDATE OF o SKIP LOCKED"
)


class PublishFailed(Exception):
    """The broker did not confirm some messages of a batch."""


class OutboxRelay:
    """Drains the outbox whenever :meth:`notify` is called."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        celery_app: Celery,
        *,
        confirm_timeout: float = CONFIRM_TIMEOUT,
    ) -> None:
        self._pool = pool
        self._publisher = BatchPublisher(celery_app, confirm_timeout)
        self._wake = anyio.Event()
        self._wake.set()  # whatever waits from before the start goes out first
        self.healthy = True

    def notify(self) -> None:
        """Something was committed to the outbox: publish it now."""
        self._wake.set()

    async def run(self) -> None:
        backoff = 0.0
        try:
            while True:
                with anyio.move_on_after(backoff if backoff else float("inf")):
                    await self._wake.wait()
                self._wake = anyio.Event()
                try:
                    await self.drain()
                    backoff = 0.0
                    self.healthy = True
                except PublishFailed as exc:
                    self.healthy = False
                    backoff = min(MAX_BACKOFF, max(0.5, backoff * 2))
                    log.warning("outbox publish failed; will retry", error=str(exc))
                except Exception as exc:  # the broker or the database is away: try again
                    self.healthy = False
                    backoff = min(MAX_BACKOFF, max(0.5, backoff * 2))
                    log.warning("outbox relay pass failed; will retry", error=repr(exc))
        finally:
            await anyio.to_thread.run_sync(self._publisher.close)

    async def drain(self) -> int:
        """Publish everything in the outbox; returns how many messages went out."""
        sent = 0
        while True:
            async with self._pool.acquire() as conn, conn.transaction():
                rows = await conn.fetch(_TAKE, BATCH)
                if not rows:
                    return sent
                confirmed = await anyio.to_thread.run_sync(
                    self._publisher.publish, [json.loads(row["message"]) for row in rows]
                )
                done = [row for row, ok in zip(rows, confirmed, strict=True) if ok]
                failed = [row["id"] for row, ok in zip(rows, confirmed, strict=True) if not ok]
                for row in done:
                    log.info(
                        "workflow published",
                        workflow_id=str(row["workflow_id"]),
                        request_id=row["request_id"],
                    )
                if done:
                    await conn.execute(
                        "DELETE FROM api.outbox WHERE id = ANY($1::bigint[])",
                        [row["id"] for row in done],
                    )
                if failed:
                    await conn.execute(
                        "UPDATE api.outbox SET attempts = attempts + 1, last_error = $2"
                        " WHERE id = ANY($1::bigint[])",
                        failed,
                        "not confirmed by the broker",
                    )
            sent += len(done)
            if failed:
                raise PublishFailed(f"{len(failed)} of {len(rows)} messages not confirmed")
            if len(rows) < BATCH:
                return sent
