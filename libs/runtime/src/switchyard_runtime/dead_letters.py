"""Dead letters with a reason, and a watch on the queues where lost messages gather.

When a worker refuses a message (:mod:`switchyard_runtime.poison`), it does not ``reject`` it: the
broker would dead-letter it with the reason ``rejected`` and nothing more. It publishes a
copy, body and properties unchanged, to the queue's dead-letter exchange with the reason
in the headers below, waits for the broker's confirm, and only then acknowledges the
original. If the copy cannot be published, the original is rejected without requeue so
the broker's own dead-lettering still keeps it (without the reason).

:class:`QueueWatch`, a worker bootstep, logs how many messages wait in ``unroutable``
(published with a routing key no binding matched) and in the dead-letter queues of the
queues the worker consumes, whenever that number changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import structlog
from celery import Celery, bootsteps
from kombu import Queue

from contracts.topology import UNROUTABLE_QUEUE, dead_letter_queue_of
from switchyard_runtime.failover import retries_per_node

log = structlog.get_logger("switchyard_runtime.dead_letters")

#: Why the message was dead-lettered: ``<ErrorType>: <readable reason>``.
REASON_HEADER = "x-switchyard-reason"
#: The queue the message was refused from.
QUEUE_HEADER = "x-switchyard-queue"
#: Where the message had been published to, to send it there again once fixed.
EXCHANGE_HEADER = "x-switchyard-original-exchange"
ROUTING_KEY_HEADER = "x-switchyard-original-routing-key"

#: Headers the broker set on this delivery: a copy published with them would carry them
#: into a replay (a stale ``x-delivery-count`` would have the replay refused at once).
_DELIVERY_HEADERS = frozenset({"x-delivery-count"})

#: AMQP properties the copy keeps (content type and encoding travel separately).
_KEPT_PROPERTIES = ("correlation_id", "reply_to", "priority", "message_id", "type", "app_id")

#: How long to wait for the broker to confirm the copy before giving up on it.
CONFIRM_TIMEOUT = 10.0

#: Seconds between two looks at the watched queues (the first is at worker start).
WATCH_INTERVAL = 30.0


def copy_headers(message: Any, queue: Queue, reason: str) -> dict[str, Any]:
    """The headers of ``message``'s dead-letter copy: its own, plus why and from where."""
    headers = message.headers if isinstance(message.headers, Mapping) else {}
    delivery = message.delivery_info or {}
    return {
        **{key: value for key, value in headers.items() if key not in _DELIVERY_HEADERS},
        REASON_HEADER: reason,
        QUEUE_HEADER: queue.name,
        EXCHANGE_HEADER: str(delivery.get("exchange") or ""),
        ROUTING_KEY_HEADER: str(delivery.get("routing_key") or ""),
    }


def dead_letter(app: Celery, message: Any, queue: Queue | None, reason: str) -> bool:
    """Move ``message`` (received from ``queue``) to its dead-letter queue with ``reason``.

    Returns whether the copy carrying the reason was published; when it was not (no
    dead-letter exchange known for ``queue``, or the publish failed), the message is
    rejected without requeue, and the broker dead-letters it as ``rejected``, if the
    queue has a dead-letter exchange at all. Blocking: waits for the publisher confirm.
    """
    target = None if queue is None else dead_letter_queue_of(queue)
    if queue is None or target is None:
        message.reject(requeue=False)
        return False
    properties = message.properties or {}
    try:
        with app.producer_or_acquire() as producer:
            producer.publish(
                message.body,
                exchange=target.exchange,
                routing_key=target.routing_key,
                headers=copy_headers(message, queue, reason),
                content_type=message.content_type or "application/octet-stream",
                content_encoding=message.content_encoding or "binary",
                delivery_mode=2,
                declare=[target],
                retry=True,
                retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
                confirm_timeout=CONFIRM_TIMEOUT,
                **{key: properties[key] for key in _KEPT_PROPERTIES if properties.get(key)},
            )
    except Exception:
        log.exception("dead-letter copy not published; rejecting instead", queue=queue.name)
        message.reject(requeue=False)
        return False
    message.ack()
    return True


def watched_queues(consumed: Iterable[Queue]) -> list[str]:
    """``unroutable`` and the dead-letter queues of the ``consumed`` queues."""
    names = [UNROUTABLE_QUEUE.name]
    for queue in consumed:
        target = dead_letter_queue_of(queue)
        if target is not None and target.name not in names:
            names.append(target.name)
    return names


def read_depths(app: Celery, names: Iterable[str]) -> dict[str, int]:
    """Messages waiting in each named queue that exists (a passive declare each)."""
    depths: dict[str, int] = {}
    with app.connection_for_read() as connection:
        connection.ensure_connection(max_retries=retries_per_node(connection, 1), timeout=5)
        for name in names:
            channel: Any = connection.channel()
            try:
                _, messages, _ = channel.queue_declare(queue=name, passive=True)
                depths[name] = int(messages)
            except connection.channel_errors:
                pass  # not declared (yet): nothing waits there
            finally:
                try:
                    channel.close()
                except connection.connection_errors + connection.channel_errors:
                    pass
    return depths


class QueueWatch(bootsteps.StartStopStep):
    """Worker bootstep: log the number of unroutable and dead-lettered messages.

    A warning names the queue and its depth each time a watched queue grows (and at
    start when it is not empty), an info line when it shrinks. Every worker watches
    ``unroutable``, so each reports the same growth of it.
    """

    # After the worker declared its queues (the first look finds its dead-letter queues).
    requires = ("switchyard_runtime.declaration:DeclareTopology",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.depths: dict[str, int] = {}
        self.timer_entry: Any = None

    def start(self, parent: Any) -> None:
        names = watched_queues(parent.task_consumer.queues)
        self.check(parent.app, names)
        self.timer_entry = parent.timer.call_repeatedly(
            WATCH_INTERVAL, self.check, (parent.app, names), priority=10
        )

    def stop(self, parent: Any) -> None:
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None

    def check(self, app: Celery, names: list[str]) -> None:
        try:
            depths = read_depths(app, names)
        except Exception as exc:
            log.info("queue watch: broker not reachable", error=str(exc))
            return
        for name, depth in depths.items():
            before = self.depths.get(name, 0)
            if depth > before:
                kind = "unroutable" if name == UNROUTABLE_QUEUE.name else "dead-lettered"
                log.warning(f"{kind} messages waiting", queue=name, messages=depth, before=before)
            elif depth < before:
                log.info("watched queue shrank", queue=name, messages=depth, before=before)
            self.depths[name] = depth
