"""What a worker does with a message it must not run: it goes to the dead-letter queue.

Plain Celery acknowledges a message it cannot decode (it vanishes), rejects an unknown or
malformed one (the broker dead-letters it as ``rejected``, nobody can tell why), and runs
a message that kills its pool process again and again, up to the broker's delivery
limit. :class:`Consumer`, which the app factory installs as ``worker_consumer``, screens
every task message in the worker's main process before Celery builds a request from it.
A message it refuses goes to its queue's dead-letter queue with the reason in its
headers (:func:`switchyard_runtime.dead_letters.dead_letter`), and, when its headers carry a task
id (Celery's protocol 2 puts it there, so even a garbage body usually names one), the
task is stored as FAILURE with that reason, so its workflow shows ``failed`` with it:

========================================  =====================================
the message                               stored error type
========================================  =====================================
body not JSON, or not decodable            :class:`UndecodableMessage`
not a task message, or malformed           :class:`InvalidMessage`
a task this worker does not run            :class:`UnknownTask`
kwargs breaking the payload contract       :class:`switchyard_runtime.worker.InvalidPayload`
a tenant its producer is not entitled to   :class:`switchyard_runtime.entitlements.Unauthorized`
redelivered ``DELIVERY_LIMIT - 1`` times   :class:`DeliveryLimitReached`
========================================  =====================================

The last one catches a message that kills its worker (a crash, the OOM killer): quorum
queues count the returns in ``x-delivery-count``, and the worker refuses the message one
delivery before the broker would dead-letter it silently, so the broker's own limit is
only the backstop (reached when no worker of ours sees the message, e.g. the whole
worker dies on it each time). Nothing here runs a task: the worker keeps consuming.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import structlog
from celery import signals, states
from celery.app.task import Context
from celery.worker.consumer.consumer import Consumer as CeleryConsumer
from kombu import Queue
from kombu.exceptions import ContentDisallowed, DecodeError
from vine.promises import promise as Promise

from contracts.routing import CONTRACTS
from contracts.topology import DELIVERY_LIMIT
from switchyard_runtime import entitlements
from switchyard_runtime.dead_letters import dead_letter
from switchyard_runtime.declaration import consumer_steps
from switchyard_runtime.worker import SCREENED, InvalidPayload, parse_payload

log = structlog.get_logger("switchyard_runtime.poison")

#: The entitlements of an app that has none of its own (not made by the factory).
DEFAULTS = entitlements.Entitlements.of()

#: The ``x-delivery-count`` at which a worker refuses a message: the broker would deliver
#: it once or twice more before dead-lettering it without a reason.
REFUSE_AT_DELIVERY_COUNT = DELIVERY_LIMIT - 1

#: Reasons longer than this are cut (a header, a log line and an error message, not a dump).
MAX_REASON = 300


class PoisonMessage(Exception):
    """A message the worker refuses to run; its text says why."""


class UndecodableMessage(PoisonMessage):
    """The body does not decode with its content type (e.g. it is not JSON)."""


class InvalidMessage(PoisonMessage):
    """Not a task message Celery could run: a forbidden content type, missing headers,
    or a body that is not ``[args, kwargs, embed]``."""


class UnknownTask(PoisonMessage):
    """The message names a task this worker does not run."""


class DeliveryLimitReached(PoisonMessage):
    """The message was delivered again and again without finishing (it kills its worker)."""


def reason_of(error: Exception) -> str:
    """``<ErrorType>: <message>`` (or the error's own ``reason_name`` for the type), cut
    to :data:`MAX_REASON` characters."""
    name = getattr(error, "reason_name", None) or type(error).__name__
    text = f"{name}: {error}"
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


def delivery_count(headers: Mapping[str, Any]) -> int:
    """How many times the broker delivered the message before (quorum queues' header)."""
    count = headers.get("x-delivery-count")
    return count if isinstance(count, int) and not isinstance(count, bool) else 0


def _short(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:150]


def task_body(message: Any) -> tuple[list[Any], dict[str, Any], dict[str, Any] | None]:
    """The decoded ``[args, kwargs, embed]`` of a protocol 2 task message.

    Raises :class:`UndecodableMessage` or :class:`InvalidMessage` saying what is wrong.
    """
    try:
        body = message.decode()
    except ContentDisallowed as exc:
        raise InvalidMessage(f"content type {message.content_type!r} is not accepted") from exc
    except DecodeError as exc:
        raise UndecodableMessage(
            f"body is not valid {message.content_type or 'content'}: {_short(exc)}"
        ) from exc
    if not (
        isinstance(body, list | tuple)
        and len(body) == 3
        and isinstance(body[0], list | tuple)
        and isinstance(body[1], dict)
        and (body[2] is None or isinstance(body[2], dict))
    ):
        raise InvalidMessage("body is not a task's [args, kwargs, embed]")
    return list(body[0]), body[1], body[2]


class Consumer(CeleryConsumer):
    """Celery's worker consumer, refusing poison and garbage into the dead-letter queue.

    ``dead_lettered`` counts the refusals of this worker by error type; each is logged
    and sent as Celery's ``task_rejected`` signal (``task_unknown`` for unknown tasks).
    """

    # celery-stubs type Consumer.Blueprint as an attribute; it is a class.
    class Blueprint(CeleryConsumer.Blueprint):  # type: ignore[misc, valid-type]
        # The worker declares what it relies on, delayed delivery included, before it
        # consumes (switchyard_runtime.declaration.DeclareTopology, in place of Celery's step).
        default_steps = consumer_steps(CeleryConsumer.Blueprint.default_steps)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.dead_lettered: Counter[str] = Counter()

    # --- Celery's hooks -------------------------------------------------------------

    def create_task_handler(self, promise: type[Promise] = Promise) -> Callable[..., Any]:
        handle = super().create_task_handler(promise)

        def on_task_received(message: Any) -> Any:
            try:
                refusal = self.screen(message)
            except Exception:  # a bug here must not stop the worker: Celery decides
                log.exception("screening a message failed; passing it to Celery")
                refusal = None
            if refusal is not None:
                return self.refuse(message, refusal)
            return handle(message)

        return on_task_received

    def on_decode_error(self, message: Any, exc: Exception) -> None:
        self.refuse(
            message,
            UndecodableMessage(
                f"body is not valid {message.content_type or 'content'}: {_short(exc)}"
            ),
        )

    def on_unknown_message(self, body: Any, message: Any) -> None:
        self.refuse(message, InvalidMessage("not a task message (no task name)"))

    def on_unknown_task(self, body: Any, message: Any, exc: Exception) -> None:
        headers = message.headers if isinstance(message.headers, Mapping) else {}
        name = headers.get("task")
        self.refuse(message, UnknownTask(f"this worker does not run {name!r}"))
        signals.task_unknown.send(
            sender=self, message=message, exc=exc, name=name, id=headers.get("id")
        )

    def on_invalid_task(self, body: Any, message: Any, exc: Exception) -> None:
        self.refuse(message, InvalidMessage(_short(exc)))

    # --- screening and refusing -----------------------------------------------------

    def screen(self, message: Any) -> Exception | None:
        """Why ``message`` must not run, or ``None`` to let Celery handle it.

        Messages without a ``task`` header (protocol 1, or not a task at all) and unknown
        task names are left to Celery, which calls the hooks above.
        """
        headers = message.headers
        if not isinstance(headers, Mapping) or "task" not in headers:
            return None
        name, task_id = headers.get("task"), headers.get("id")
        if not (isinstance(name, str) and name and isinstance(task_id, str) and task_id):
            return InvalidMessage("task headers without a task name and id")
        count = delivery_count(headers)
        if count >= REFUSE_AT_DELIVERY_COUNT and not self._succeeded(task_id):
            return DeliveryLimitReached(f"redelivered {count} times; dead-lettered")
        if name not in getattr(self, "strategies", {}):
            return None
        try:
            args, kwargs, embed = task_body(message)
        except PoisonMessage as exc:
            return exc
        contract = CONTRACTS.get(name)
        payload = None
        if contract is not None:
            try:
                payload = parse_payload(contract, kwargs)
            except InvalidPayload as exc:
                return exc
        unauthorized = entitlements.check(
            getattr(self.app, "entitlements", DEFAULTS),
            entitlements.producer_of(message.properties),
            name,
            args,
            kwargs,
            embed,
        )
        if unauthorized is not None:
            return unauthorized
        if payload is not None:
            SCREENED.put(task_id, payload)
        return None

    def refuse(self, message: Any, error: Exception) -> None:
        """Store FAILURE for the message's task (if named), then dead-letter it."""
        reason = reason_of(error)
        headers = message.headers if isinstance(message.headers, Mapping) else {}
        task_id = headers.get("id") if isinstance(headers.get("id"), str) else None
        name = headers.get("task") if isinstance(headers.get("task"), str) else None
        queue = self._queue_of(message)
        if task_id:
            self._mark_failed(task_id, name, message, error)
        published = dead_letter(self.app, message, queue, reason)
        kind = type(error).__name__
        self.dead_lettered[kind] += 1
        log.error(
            "message dead-lettered",
            reason=reason,
            queue=None if queue is None else queue.name,
            task_id=task_id,
            task_name=name,
            with_reason=published,
            dead_lettered=self.dead_lettered[kind],
            dead_lettered_total=sum(self.dead_lettered.values()),
        )
        if not isinstance(error, UnknownTask):
            signals.task_rejected.send(sender=self, message=message, exc=error)

    def _queue_of(self, message: Any) -> Queue | None:
        """The queue this worker consumed ``message`` from, by its consumer tag."""
        tag = (message.delivery_info or {}).get("consumer_tag")
        # kombu's Consumer keeps queue name -> consumer tag; no public accessor.
        task_consumer = getattr(self, "task_consumer", None)
        tags: Mapping[str, str] = getattr(task_consumer, "_active_tags", None) or {}
        for queue_name, queue_tag in tags.items():
            if queue_tag == tag:
                queue: Queue | None = self.app.amqp.queues.get(queue_name)
                return queue
        return None

    def _succeeded(self, task_id: str) -> bool:
        """Whether the task already succeeded (Celery then acks the duplicate itself)."""
        try:
            return bool(self.app.backend.get_state(task_id) == states.SUCCESS)
        except Exception:
            log.exception("result backend unreachable", task_id=task_id)
            return False

    def _mark_failed(self, task_id: str, name: str | None, message: Any, error: Exception) -> None:
        """Store FAILURE with ``error``, unless the task already reached a final state.

        Like Celery's own failure path, later steps of a chain are failed too; errbacks
        are not called from the consumer (the platform uses none).
        """
        headers = message.headers
        try:
            args, kwargs, embed = task_body(message)
        except PoisonMessage:
            args, kwargs, embed = [], {}, None
        request = Context(
            id=task_id,
            task=name,
            args=args,
            kwargs=kwargs,
            hostname=self.hostname,
            retries=headers.get("retries") or 0,
            group=headers.get("group"),
            parent_id=headers.get("parent_id"),
            root_id=headers.get("root_id"),
            delivery_info=message.delivery_info,
            chain=(embed or {}).get("chain"),
            chord=None,
            errbacks=None,
        )
        backend: Any = self.app.backend
        try:
            if backend.get_state(task_id) in states.READY_STATES:
                return
            backend.mark_as_failure(task_id, error, request=request, call_errbacks=False)
        except Exception:
            log.exception("could not store the refused task's failure", task_id=task_id)
