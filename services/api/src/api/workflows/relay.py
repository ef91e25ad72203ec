"""The outbox relay: publishes committed workflow messages to RabbitMQ.

The API commits a workflow and its outbox message in one statement and answers 202; the
relay then takes a batch of due messages (:mod:`api.workflows.outbox`), publishes them,
waits for the broker's word on each (:mod:`api.workflows.publisher`, in a thread:
publishing blocks) and settles each row by that word:

- **confirmed**: deleted. A crash before the delete leaves it in the outbox, so it is
  published again: delivery is at least once, and the workers tolerate the duplicate
  (same task id).
- **refused** (the broker said no to that message): it backs off on its own
  (:class:`api.workflows.retries.RetryPolicy`) while the rows behind it go out; after
  its last attempt it is moved to ``api.outbox_dead`` and its workflow fails with the
  broker's reason (``PublishFailed``, :func:`api.workflows.failing.fail`: its first
  step failed, the others never run).
- **unsettled** (the broker as a whole did not answer: unreachable, blocking publishers,
  no confirm in time): left as it is, attempts uncounted, and the relay backs off and
  reports itself unhealthy (:attr:`OutboxRelay.healthy`, ``/readyz``) until a pass
  succeeds. While the broker blocks publishers the relay waits for it to unblock rather
  than publishing into a connection nobody reads.

It runs when there is something to publish: woken in process by a submission, through
PostgreSQL (``switchyard_outbox``) by the intake worker, and by the notification
listener's every (re)connect; a refused message's next attempt wakes it when due, and a
slow check (:data:`IDLE_CHECK`, one indexed read) picks up what another process left
behind. With nothing to publish it does nothing else.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence

import anyio
import asyncpg
import structlog
from celery import Celery

from api.db import Connection
from api.metrics import RelayMetrics, WorkflowMetrics
from api.workflows import failing, outbox
from api.workflows.publisher import CONFIRM_TIMEOUT, BatchPublisher, Outcome, Published
from api.workflows.refresh import Finished
from api.workflows.retries import RetryPolicy

log = structlog.get_logger(__name__)

BATCH = 100
MAX_BACKOFF = 10.0
#: Seconds between looks at an outbox this process was not told about (a message
#: another process backed off and then left, by dying, for instance).
IDLE_CHECK = 60.0
#: Seconds before looking again at a message that was due but not taken by this pass.
RECHECK = 1.0


class RelayStalled(Exception):
    """The broker did not settle some messages of a batch; the reason is the message."""


class OutboxRelay:
    """Drains the outbox whenever :meth:`notify` is called (and when a retry is due)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        celery_app: Celery,
        *,
        confirm_timeout: float = CONFIRM_TIMEOUT,
        retries: RetryPolicy | None = None,
        metrics: RelayMetrics | None = None,
        workflow_metrics: WorkflowMetrics | None = None,
    ) -> None:
        self._pool = pool
        self._publisher = BatchPublisher(celery_app, confirm_timeout)
        self._retries = retries or RetryPolicy()
        self._metrics = metrics
        self._workflow_metrics = workflow_metrics
        self._wake = anyio.Event()
        self._wake.set()  # whatever waits from before the start goes out first
        #: Whether the last pass published what was due; ``problem`` says what the
        #: broker did instead (a pass the database failed changes neither).
        self.healthy = True
        self.problem: str | None = None

    def notify(self) -> None:
        """Something was committed to the outbox: publish it now."""
        self._wake.set()

    async def run(self) -> None:
        backoff = 0.0
        idle = IDLE_CHECK
        try:
            while True:
                if backoff:
                    # The broker is the trouble: new messages wait for the next try too.
                    await anyio.sleep(backoff)
                else:
                    with anyio.move_on_after(idle):
                        await self._wake.wait()
                self._wake = anyio.Event()
                try:
                    idle = await self.drain()
                    backoff = 0.0
                    self._health(None)
                except RelayStalled as exc:
                    backoff = min(MAX_BACKOFF, max(0.5, backoff * 2))
                    self._health(str(exc))
                    log.warning("outbox publish stalled; will retry", error=str(exc), retry=backoff)
                    # While nothing goes out the backlog ages: say so (the alert on the
                    # outbox's age is for exactly this), as far as the database answers.
                    with contextlib.suppress(Exception):
                        await self._measure()
                except Exception as exc:  # the database is away, most likely: try again
                    # Not the relay's health, which is about publishing: /readyz names the
                    # database, and the outbox's age shows anything else that holds it up.
                    backoff = min(MAX_BACKOFF, max(0.5, backoff * 2))
                    log.warning("outbox relay pass failed; will retry", error=repr(exc))
        finally:
            await anyio.to_thread.run_sync(self._publisher.close)

    def _health(self, problem: str | None) -> None:
        self.healthy, self.problem = problem is None, problem
        if self._metrics is not None:
            self._metrics.health(self.healthy)

    async def drain(self) -> float:
        """Publish every due message; returns the seconds until the next one is due (at
        most :data:`IDLE_CHECK`). Raises :class:`RelayStalled` when the broker did not
        settle a batch."""
        if self._publisher.blocked:
            unblocked = await anyio.to_thread.run_sync(self._publisher.wait_unblocked, MAX_BACKOFF)
            if not unblocked:
                raise RelayStalled("the broker blocks publishers (a memory or disk alarm)")
        while True:
            async with self._pool.acquire() as conn, conn.transaction():
                rows = await outbox.take(conn, BATCH)
                if not rows:
                    break
                batch = await anyio.to_thread.run_sync(
                    self._publisher.publish, [json.loads(row["message"]) for row in rows]
                )
                finished = await self._settle(conn, rows, batch.results)
            self._report(finished)
            if batch.stalled is not None:
                raise RelayStalled(batch.stalled)
            if len(rows) < BATCH:
                break
        due_in = await self._measure()
        if due_in is None:
            return IDLE_CHECK
        # Due already: another process holds it (SKIP LOCKED), or its backoff ran out
        # while this pass went on. Look again soon, not after IDLE_CHECK: a refused
        # message would wait a minute for a broker that is back.
        return min(IDLE_CHECK, max(due_in, RECHECK))

    async def _measure(self) -> float | None:
        """Seconds until the next message is due (negative: overdue that long; ``None``:
        the outbox is empty), kept in the outbox's age gauge too."""
        due_in = await outbox.first_due_in(self._pool)
        if self._metrics is not None:
            self._metrics.overdue(max(0.0, -due_in) if due_in is not None else 0.0)
        return due_in

    async def _settle(
        self, conn: Connection, rows: Sequence[asyncpg.Record], results: Sequence[Published]
    ) -> list[Finished]:
        """Delete the confirmed rows, back off or give up the refused ones."""
        done: list[int] = []
        later: list[tuple[int, float, str]] = []
        given_up: list[tuple[int, str]] = []
        failures: list[failing.Failure] = []
        for row, result in zip(rows, results, strict=True):
            context = {"workflow_id": str(row["workflow_id"]), "request_id": row["request_id"]}
            if result.outcome is Outcome.CONFIRMED:
                done.append(row["id"])
                log.info("workflow published", **context)
            elif result.outcome is Outcome.REFUSED:
                reason = result.reason or "refused by the broker"
                attempts = row["attempts"] + 1
                if self._retries.exhausted(attempts):
                    given_up.append((row["id"], reason))
                    failures.append(
                        failing.Failure(
                            row["workflow_id"],
                            {
                                "type": "PublishFailed",
                                "message": f"{reason}; given up after {attempts} attempts",
                            },
                            task_id=row["first_task_id"],
                        )
                    )
                    log.warning(
                        "outbox message moved aside", attempts=attempts, reason=reason, **context
                    )
                else:
                    delay = self._retries.delay(attempts)
                    later.append((row["id"], delay, reason))
                    log.warning(
                        "outbox message refused; will retry",
                        attempts=attempts,
                        retry=round(delay, 2),
                        reason=reason,
                        **context,
                    )
        await outbox.delete(conn, done)
        await outbox.retry_later(conn, later)
        await outbox.move_aside(conn, given_up)
        # The broker never took these messages, so no worker holds them: the REVOKED
        # marks fail() leaves need no revoke broadcast (it would be a publish too).
        failed = await failing.fail(conn, failures)
        if self._metrics is not None:
            self._metrics.failed("refused", len(later) + len(given_up))
            self._metrics.failed(
                "unsettled", sum(1 for r in results if r.outcome is Outcome.UNSETTLED)
            )
            self._metrics.given_up(len(given_up))
        return failed.finished

    def _report(self, finished: Sequence[Finished]) -> None:
        for workflow in finished:
            log.info(
                "workflow finished",
                workflow_id=str(workflow.workflow_id),
                request_id=workflow.request_id,
                kind=workflow.kind,
                status=workflow.status,
            )
            if self._workflow_metrics is not None:
                self._workflow_metrics.done(
                    workflow.kind, workflow.status, workflow.created_at, workflow.finished_at
                )
