"""Each service declares, when it starts, every broker object it relies on.

A service started on a vhost where nothing was declared yet (before ``api migrate``, or
on a broker that lost its definitions) must not depend on another having run first: a
queue naming a dead-letter exchange that does not exist loses what the broker
dead-letters, an exchange whose alternate exchange is missing drops a message with a
wrong routing key, and Celery's native delayed delivery (retries, countdowns) needs its
``celery_delayed_*`` exchanges and queues. Declaring is idempotent, and every object is
declared from the same kombu objects as everywhere else, so with the same arguments
(RabbitMQ refuses a re-declaration with other ones: ``PRECONDITION_FAILED``).

What a service relies on (:func:`needs_of`):

- every exchange it publishes to (by default :data:`contracts.routing.ROUTED_EXCHANGES`,
  all those its router can name), the alternate exchange each one names and the queue
  behind it (``unroutable``: an alternate exchange without a queue drops the message);
- for each queue it consumes: the queue with its bindings, its dead-letter exchange and
  dead-letter queue, and its binding to Celery's delayed-delivery exchanges;
- with those, the catch-all's binding to delayed delivery (:func:`bind_catch_all`): a
  countdown to a name no route knows (Celery's default queue) reaches ``unroutable``;
- the exchanges it publishes to that another service owns are only checked (a passive
  declare: its broker user may not declare them, :mod:`switchyard_runtime.grants`).

A service of :data:`switchyard_runtime.services.SERVICES` (by its app's name) declares what that
table says it publishes to; any other app, every exchange its router can name.

``api migrate`` declares the needs of a service consuming every queue: the whole topology.

What Celery does alone: a worker's task consumer declares the queues it consumes (with
their exchange and binding), a producer the queue it publishes to; none declares a
dead-letter exchange or queue, an alternate exchange or its queue. Celery's own
delayed-delivery step binds *every* queue of the app, consumed or not, so on a vhost
holding only this worker's queues it fails and logs that native delayed delivery is not
available; :class:`DeclareTopology` replaces it and binds the consumed queues only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import structlog
from celery import Celery, bootsteps
from kombu import Connection, Exchange, Queue
from kombu.transport.native_delayed_delivery import (
    CELERY_DELAYED_DELIVERY_EXCHANGE,
    bind_queue_to_native_delayed_delivery_exchange,
    declare_native_delayed_delivery_exchanges_and_queues,
)

from contracts.routing import ROUTED_EXCHANGES
from contracts.topology import UNROUTABLE_EXCHANGE, UNROUTABLE_QUEUE, dead_letter_queue_of
from switchyard_runtime.failover import retries_per_node
from switchyard_runtime.services import service_named

log = structlog.get_logger("switchyard_runtime.declaration")

#: The queue behind each alternate exchange, by the exchange's name.
CATCH_ALL_QUEUES: dict[str, Queue] = {UNROUTABLE_QUEUE.exchange.name: UNROUTABLE_QUEUE}

#: AMQP's reply code when the broker user lacks the permission for an operation.
ACCESS_REFUSED = 403

#: Celery's delayed-delivery consumer step, which :class:`DeclareTopology` replaces.
CELERY_DELAYED_DELIVERY = "celery.worker.consumer.delayed_delivery:DelayedDelivery"


@dataclass(frozen=True)
class Needs:
    """The broker objects one service relies on, in the order they are declared."""

    exchanges: tuple[Exchange, ...]
    #: Each declared with its exchange and bindings: catch-all queues first, then the
    #: consumed queues, then their dead-letter queues (with their exchanges).
    queues: tuple[Queue, ...]
    #: Consumed queues bound to Celery's native delayed delivery (topic exchanges only).
    delayed: tuple[Queue, ...]
    #: Exchanges it publishes to but does not declare: checked with a passive declare.
    expected: tuple[Exchange, ...] = ()


def _exchanges_of(queue: Queue) -> list[Exchange]:
    exchanges = [queue.exchange] if queue.exchange is not None and queue.exchange.name else []
    return exchanges + [binding.exchange for binding in queue.bindings or () if binding.exchange]


def _catch_all_of(exchange: Exchange) -> Queue | None:
    alternate = (exchange.arguments or {}).get("alternate-exchange")
    if not alternate:
        return None
    try:
        return CATCH_ALL_QUEUES[alternate]
    except KeyError:
        raise ValueError(
            f"exchange {exchange.name!r} names an unknown alternate exchange "
            f"{alternate!r}: add its queue to CATCH_ALL_QUEUES"
        ) from None


def _unique(items: Iterable[Any]) -> tuple[Any, ...]:
    by_name: dict[str, Any] = {}
    for item in items:
        by_name.setdefault(item.name, item)
    return tuple(by_name.values())


def needs_of(
    consumes: Iterable[Queue] = (),
    publishes: Iterable[Exchange] = ROUTED_EXCHANGES,
    expects: Iterable[Exchange] = (),
) -> Needs:
    """What a service consuming ``consumes`` and publishing to ``publishes`` relies on.

    ``expects`` are exchanges it publishes to without declaring them (their owner or
    ``api migrate`` does); they are only checked.

    Derived from the queues' and exchanges' own definitions (dead-letter exchange from
    the queue's arguments, alternate exchange from the exchange's), so a queue added to
    the topology is covered as it is.
    """
    consumed = _unique(consumes)
    exchanges = _unique([*publishes, *(e for queue in consumed for e in _exchanges_of(queue))])
    catch_alls = [q for q in map(_catch_all_of, exchanges) if q is not None]
    dead_letters = [q for q in map(dead_letter_queue_of, consumed) if q is not None]
    delayed = [
        queue for queue in consumed if queue.exchange is not None and queue.exchange.type == "topic"
    ]
    return Needs(
        exchanges=exchanges,
        queues=_unique([*catch_alls, *consumed, *dead_letters]),
        delayed=tuple(delayed),
        expected=tuple(e for e in _unique(expects) if e.name not in {x.name for x in exchanges}),
    )


class _Declaring:
    """Declarations on one connection, noting those the broker refused."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.refused: list[str] = []
        self.missing: list[str] = []

    def attempt(self, what: str, declare: Callable[..., object], *args: Any) -> None:
        """Run ``declare(*args)``; a refusal is logged and noted, the service goes on.

        A refusal (the broker user lacks the permission) leaves the object to a user
        allowed to declare it (``api migrate``). Any other error, such as an object
        declared before with other arguments, is raised.
        """
        try:
            declare(*args)
        except self.connection.channel_errors as exc:
            if getattr(exc, "reply_code", None) != ACCESS_REFUSED:
                raise
            log.warning("the broker refused a declaration", what=what, error=str(exc))
            self.refused.append(what)

    def entity(self, what: str, entity: Exchange | Queue) -> None:
        # A refusal closes its channel only; the channels close with the connection.
        self.attempt(what, lambda: entity.bind(self.connection.channel()).declare())

    def check(self, exchange: Exchange) -> None:
        """A passive declare of ``exchange``: one missing is logged (publishing to it
        fails until its owner or ``api migrate`` declares it), the service goes on."""
        try:
            channel: Any = self.connection.channel()
            channel.exchange_declare(exchange=exchange.name, type=exchange.type, passive=True)
        except self.connection.channel_errors as exc:
            log.warning(
                "an exchange this service publishes to is not declared yet",
                exchange=exchange.name,
                error=str(exc),
            )
            self.missing.append(exchange.name)


def bind_catch_all(connection: Connection, default_routing_key: str) -> None:
    """Bind ``unroutable`` to Celery's delayed delivery, for its default queue's messages.

    Celery sends a task no route names to its default queue, ``unroutable``; with a
    countdown, through the delayed-delivery exchanges, under ``<delay bits>.<the default
    queue's routing key>``. Nothing else binds that key, and the delayed queues
    dead-letter at least once: the broker would hold such a message in a delayed queue
    for good, counted but never delivered. Bound, it lands in ``unroutable`` (and the
    lost-message tap) like any message no binding matches.
    """
    channel: Any = connection.channel()
    channel.exchange_bind(
        destination=UNROUTABLE_EXCHANGE.name,
        source=CELERY_DELAYED_DELIVERY_EXCHANGE,
        routing_key=f"#.{default_routing_key}",
    )


def declare_needs_on(
    connection: Connection,
    needs: Needs,
    queue_type: str = "quorum",
    default_routing_key: str = UNROUTABLE_QUEUE.name,
) -> list[str]:
    """Declare ``needs`` on ``connection`` (idempotent; the shared objects stay unbound).

    ``default_routing_key`` is the routing key of Celery's default queue (the app's
    ``task_default_routing_key``), which :func:`bind_catch_all` binds.

    Returns what the broker refused (each one logged), empty when all was declared.
    """
    declaring = _Declaring(connection)
    for exchange in needs.exchanges:
        declaring.entity(f"declare exchange {exchange.name!r}", exchange)
    for queue in needs.queues:
        declaring.entity(f"declare queue {queue.name!r} with its bindings", queue)
    for exchange in needs.expected:
        declaring.check(exchange)
    if needs.delayed:
        declaring.attempt(
            "declare the delayed-delivery exchanges and queues",
            declare_native_delayed_delivery_exchanges_and_queues,
            connection,
            queue_type,
        )
    for queue in needs.delayed:
        declaring.attempt(
            f"bind queue {queue.name!r} to delayed delivery",
            bind_queue_to_native_delayed_delivery_exchange,
            connection,
            queue,
        )
    if needs.delayed and UNROUTABLE_QUEUE.name in {queue.name for queue in needs.queues}:
        declaring.attempt(
            "bind the catch-all to delayed delivery",
            bind_catch_all,
            connection,
            default_routing_key,
        )
    return declaring.refused


def declare_needs(
    app: Celery,
    consumes: Iterable[Queue] = (),
    publishes: Iterable[Exchange] | None = None,
    *,
    max_retries: int = 1,
) -> Needs:
    """Declare what a service of ``app`` consuming ``consumes`` relies on (:func:`needs_of`).

    ``publishes`` defaults to what :data:`switchyard_runtime.services.SERVICES` says the service
    named like ``app`` declares (and checks the exchanges it expects), else to every
    exchange its router can name.

    On a connection of its own, closed afterwards; raises the broker's connection error
    when it cannot be reached after ``max_retries`` more tries of each node (a worker's
    consumer then reconnects and runs it again, a producer declares before its next
    publish).
    """
    expects: Iterable[Exchange] = ()
    if publishes is None:
        service = service_named(app.main or "")
        publishes = ROUTED_EXCHANGES if service is None else service.declares
        expects = () if service is None else service.expects
    needs = needs_of(consumes, publishes, expects)
    with app.connection_for_write() as connection:
        # The transport's own error, which a worker's consumer knows to reconnect after.
        connection.ensure_connection(
            max_retries=retries_per_node(connection, max_retries),
            reraise_as_library_errors=False,
        )
        queue_type = app.conf.broker_native_delayed_delivery_queue_type
        refused = declare_needs_on(connection, needs, queue_type, app.conf.task_default_routing_key)
    log.info(
        "broker topology declared",
        exchanges=[exchange.name for exchange in needs.exchanges],
        queues=[queue.name for queue in needs.queues],
        delayed_delivery=[queue.name for queue in needs.delayed],
        expected=[exchange.name for exchange in needs.expected],
        refused=refused,
    )
    return needs


class DeclareTopology(bootsteps.StartStopStep):
    """Worker consumer step: declare what the worker relies on before it consumes.

    Runs after Celery's task consumer is built (it names the consumed queues) and before
    the event loop starts consuming; again after every reconnection.
    """

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, parent: Any) -> None:
        declare_needs(parent.app, parent.task_consumer.queues)


def consumer_steps(celery_steps: Iterable[str]) -> list[str]:
    """Celery's consumer steps with :data:`CELERY_DELAYED_DELIVERY` replaced by ours."""
    ours = "switchyard_runtime.declaration:DeclareTopology"
    return [ours if step == CELERY_DELAYED_DELIVERY else step for step in celery_steps]
