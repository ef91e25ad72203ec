"""The outbox relay: publishes committed workflow messages to RabbitMQ.

The API commits a workflow and its outbox message in one transaction and answers 202;
the relay then publishes each message with publisher confirms (in a thread: Celery's
publish blocks) and deletes it once the broker confirmed it. A crash in between leaves
the message in the outbox, so it is published again: delivery is at least once, and
the workers tolerate the duplicate (same task id). While the broker is down, messages
wait in the outbox and the API keeps accepting work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import anyio
import structlog
from celery import Celery
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from api.tables import outbox, workflows

log = structlog.get_logger(__name__)

BATCH = 100
MAX_BACKOFF = 10.0


class PublishFailed(Exception):
    """The broker did not confirm a message; ``published`` went out before it."""

    def __init__(self, published: int, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.published = published
        self.cause = cause


class OutboxRelay:
    """Drains the outbox whenever :meth:`notify` is called, and every ``interval``."""

    def __init__(self, engine: AsyncEngine, celery_app: Celery, interval: float) -> None:
        self._engine = engine
        self._celery = celery_app
        self._interval = interval
        self._wake = anyio.Event()
        self.healthy = True

    def notify(self) -> None:
        """Something was committed to the outbox: publish it now."""
        self._wake.set()

    async def run(self) -> None:
        backoff = 0.0
        while True:
            with anyio.move_on_after(max(self._interval, backoff)):
                await self._wake.wait()
            self._wake = anyio.Event()
            try:
                await self.drain()
                backoff = 0.0
                self.healthy = True
            except PublishFailed as exc:
                self.healthy = False
                backoff = min(MAX_BACKOFF, max(0.5, backoff * 2))
                log.warning("outbox publish failed; will retry", error=str(exc.cause))
            except Exception:
                backoff = min(MAX_BACKOFF, max(0.5, backoff * 2))
                log.exception("outbox relay pass failed")

    async def drain(self) -> int:
        """Publish everything in the outbox; returns how many messages went out."""
        sent = 0
        while True:
            async with self._engine.begin() as conn:
                rows = (
                    await conn.execute(
                        select(
                            outbox.c.id,
                            outbox.c.message,
                            outbox.c.workflow_id,
                            workflows.c.request_id,
                        )
                        .outerjoin(workflows, workflows.c.id == outbox.c.workflow_id)
                        .order_by(outbox.c.id)
                        .limit(BATCH)
                        .with_for_update(of=outbox, skip_locked=True)
                    )
                ).all()
                if not rows:
                    return sent
                messages = [row.message for row in rows]
                failure: PublishFailed | None = None
                try:
                    published = await anyio.to_thread.run_sync(self._publish, messages)
                except PublishFailed as exc:
                    failure, published = exc, exc.published
                done = [row.id for row in rows[:published]]
                for row in rows[:published]:
                    log.info(
                        "workflow published",
                        workflow_id=str(row.workflow_id),
                        request_id=row.request_id,
                    )
                if done:
                    await conn.execute(delete(outbox).where(outbox.c.id.in_(done)))
                if failure is not None:
                    await conn.execute(
                        update(outbox)
                        .where(outbox.c.id == rows[published].id)
                        .values(
                            attempts=outbox.c.attempts + 1,
                            last_error=str(failure.cause)[:500],
                        )
                    )
            if failure is not None:
                raise failure
            sent += published
            if len(rows) < BATCH:
                return sent

    def _publish(self, messages: Sequence[dict[str, Any]]) -> int:
        published = 0
        try:
            with self._celery.producer_or_acquire() as producer:
                for message in messages:
                    self._celery.signature(message).apply_async(producer=producer)
                    published += 1
        except Exception as exc:
            raise PublishFailed(published, exc) from exc
        return published
