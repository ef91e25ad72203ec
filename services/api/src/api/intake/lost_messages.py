"""The intake's tap on lost messages: their workflows fail as soon as they land.

RabbitMQ moves a message that no binding matched to ``unroutable`` (the domain
exchanges' alternate exchange), and one a work queue gives up on (its delivery limit, a
reject) through ``<domain>.dlx`` to ``<queue>.dlq``, without any of our code; a worker
refusing a message sends it the same way, with ``x-switchyard-reason``
(:mod:`switchyard_runtime.poison`). The queue ``api.dead-letters``
(:data:`contracts.routing.LOST_MESSAGES_QUEUE`) is bound to all of them, so it gets a
copy of each while the original waits where it landed, for inspection.

:class:`LostMessages`, a consumer bootstep of ``api intake``, reads each copy's headers
(never its body, which may be anything): the task id and the ``workflow_id`` every step's
message carries, and why it was lost. That workflow then fails with the reason, unless it
has finished (:func:`api.workflows.failing.fail`, idempotent); the copy is acknowledged.
A reason a worker gave keeps the error that worker stored for the step, so the document
says the same whichever of the two got there first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import structlog
from celery import Celery, bootsteps
from kombu import Consumer, Queue
from kombu.common import ignore_errors

from api.config import Settings
from api.intake.runtime import Runtime
from api.workflows.failing import Failed, Failure, broadcast_revoke, fail
from contracts.routing import LOST_MESSAGES_QUEUE
from contracts.topology import UNROUTABLE_EXCHANGE, UNROUTABLE_QUEUE
from switchyard_runtime.dead_letters import QUEUE_HEADER, REASON_HEADER

log = structlog.get_logger(__name__)

#: The exchanges dead letters arrive through (anything else came through ``unroutable``).
DEAD_LETTER_EXCHANGES = frozenset(
    b.exchange.name
    for b in LOST_MESSAGES_QUEUE.bindings
    if b.exchange is not None and b.exchange.name != UNROUTABLE_EXCHANGE.name
)
#: Copies taken at a time (each is one short transaction).
PREFETCH = 10
#: How long failing one workflow may take before the copy is put back.
TIMEOUT = 10.0
#: Seconds before a copy whose workflow could not be failed is delivered again.
RETRY_DELAY = 5.0


@dataclass(frozen=True)
class LostMessage:
    """What a lost message's headers say: whose it was and why it was lost."""

    task_id: str | None
    task_name: str | None
    workflow_id: UUID | None
    error: dict[str, str]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _workflow_id(value: Any) -> UUID | None:
    try:
        return UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _refused(reason: str) -> dict[str, str]:
    """A worker's ``<ErrorType>: <reason>`` as the error it stored for the step."""
    kind, _, message = reason.partition(": ")
    return {"type": kind, "message": message}


def _dead_lettered(headers: Mapping[str, Any]) -> dict[str, str]:
    deaths = headers.get("x-death")
    last = deaths[0] if isinstance(deaths, list) and deaths else {}
    last = last if isinstance(last, Mapping) else {}
    queue = _text(last.get("queue")) or _text(headers.get("x-first-death-queue")) or "?"
    reason = _text(last.get("reason")) or _text(headers.get("x-first-death-reason")) or "?"
    return {
        "type": "DeadLettered",
        "message": f"{queue} dead-lettered the message ({reason}); it waits in {queue}.dlq",
    }


def _unroutable(delivery: Mapping[str, Any]) -> dict[str, str]:
    exchange = delivery.get("exchange") or ""
    routing_key = delivery.get("routing_key") or ""
    return {
        "type": "Unroutable",
        "message": f"no queue is bound to routing key {routing_key!r} on exchange"
        f" {exchange!r}; the message waits in {UNROUTABLE_QUEUE.name}",
    }


def lost_message(headers: Mapping[str, Any], delivery: Mapping[str, Any]) -> LostMessage:
    """Read a copy taken from the tap: ``headers`` of the message, ``delivery`` its
    delivery info (the exchange it came through tells a dead letter from an unroutable
    message)."""
    if delivery.get("exchange") not in DEAD_LETTER_EXCHANGES:
        error = _unroutable(delivery)
    elif reason := _text(headers.get(REASON_HEADER)):
        error = _refused(reason)
        queue = _text(headers.get(QUEUE_HEADER))
        if queue and not error["message"]:
            error["message"] = f"refused from {queue}"
    else:
        error = _dead_lettered(headers)
    return LostMessage(
        task_id=_text(headers.get("id")),
        task_name=_text(headers.get("task")),
        workflow_id=_workflow_id(headers.get("workflow_id")),
        error=error,
    )


class LostMessageHandler:
    """Fails the workflow of each lost message; runs in the intake's main process."""

    def __init__(self, app: Celery, settings: Settings) -> None:
        self._app = app
        self._runtime = Runtime(settings)

    def handle(self, headers: Mapping[str, Any], delivery: Mapping[str, Any]) -> Failed:
        """Fail the message's workflow (blocking); raises when the database is away."""
        lost = lost_message(headers, delivery)
        context = {
            "task_id": lost.task_id,
            "task_name": lost.task_name,
            "error_type": lost.error["type"],
            "reason": lost.error["message"],
        }
        if lost.workflow_id is None:
            log.info("lost message names no workflow", **context)
            return Failed()
        failure = Failure(lost.workflow_id, lost.error, task_id=lost.task_id)
        failed = self._runtime.run(asyncio.wait_for(self._fail(failure), TIMEOUT))
        broadcast_revoke(self._app, failed.revoked)
        for workflow in failed.finished:
            log.warning(
                "workflow failed: its message was lost",
                workflow_id=str(workflow.workflow_id),
                request_id=workflow.request_id,
                kind=workflow.kind,
                status=workflow.status,
                **context,
            )
        if not failed.finished:
            log.info(
                "lost message of a finished workflow", workflow_id=str(lost.workflow_id), **context
            )
        return failed

    async def _fail(self, failure: Failure) -> Failed:
        async with self._runtime.pool.acquire() as conn:
            return await fail(conn, [failure])


class LostMessages(bootsteps.ConsumerStep):
    """Consumer bootstep: consume ``api.dead-letters`` with :attr:`handler`.

    The queue is declared by ``api migrate`` with its bindings (which need rights on
    every dead-letter exchange, not the intake's); without it the intake runs as before
    and says so. A copy whose workflow cannot be failed now (the database is away) is
    put back after :data:`RETRY_DELAY` seconds.
    """

    #: What handles each copy (:meth:`bound_to` makes the step of one).
    handler: LostMessageHandler | None = None

    @classmethod
    def bound_to(cls, handler: LostMessageHandler) -> type[LostMessages]:
        """This step, handling copies with ``handler``."""
        return type(cls.__name__, (cls,), {"handler": handler})

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self._timer: Any = None

    def start(self, c: Any) -> None:
        self._timer = c.timer
        if self.handler is None or not self._declared(c.connection):
            return
        super().start(c)

    def _declared(self, connection: Any) -> bool:
        channel = connection.channel()
        try:
            channel.queue_declare(queue=LOST_MESSAGES_QUEUE.name, passive=True)
        except connection.channel_errors as exc:
            log.error(
                "queue not declared (run api migrate): lost messages do not fail their workflows",
                queue=LOST_MESSAGES_QUEUE.name,
                error=str(exc),
            )
            return False
        finally:
            ignore_errors(connection, channel.close)
        return True

    def get_consumers(self, channel: Any) -> list[Consumer]:
        queue = Queue(LOST_MESSAGES_QUEUE.name, no_declare=True)
        return [
            Consumer(channel, queues=[queue], on_message=self.on_message, prefetch_count=PREFETCH)
        ]

    def on_message(self, message: Any) -> None:
        assert self.handler is not None
        headers = message.headers if isinstance(message.headers, Mapping) else {}
        try:
            self.handler.handle(headers, message.delivery_info or {})
        except Exception as exc:
            log.warning(
                "lost message not handled; delivered again soon",
                error=repr(exc),
                retry_in=RETRY_DELAY,
            )
            self._timer.call_after(RETRY_DELAY, self._put_back, (message,))
            return
        message.ack()

    @staticmethod
    def _put_back(message: Any) -> None:
        try:
            message.requeue()
        except Exception as exc:  # the channel closed meanwhile: the broker requeued it
            log.info("lost message already back in its queue", error=repr(exc))
