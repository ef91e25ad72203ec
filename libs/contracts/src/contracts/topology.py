"""Building blocks of the RabbitMQ topology, shared by every domain.

Every domain gets a durable topic exchange whose alternate exchange catches what no
binding matches (Celery publishes without ``mandatory``, so RabbitMQ would otherwise drop
a message with a wrong routing key in silence). Every work queue is a durable quorum
queue with an explicit delivery limit and its own dead-letter queue behind a per-domain
dead-letter exchange.
"""

from __future__ import annotations

from collections.abc import Iterable

from kombu import Connection, Exchange, Queue, binding

#: How many times RabbitMQ delivers one message before dead-lettering it. A worker that
#: dies on a message (SIGKILL, OOM) makes the broker redeliver it; this bounds the loop.
DELIVERY_LIMIT = 5

UNROUTABLE_EXCHANGE = Exchange("unroutable", type="fanout", durable=True)
#: Where every message that matched no binding of a domain exchange ends up.
UNROUTABLE_QUEUE = Queue(
    "unroutable",
    exchange=UNROUTABLE_EXCHANGE,
    routing_key="",
    durable=True,
    queue_arguments={"x-queue-type": "quorum"},
)


def domain_exchange(domain: str) -> Exchange:
    """The durable topic exchange of ``domain``; unroutable messages go to ``unroutable``."""
    return Exchange(
        domain,
        type="topic",
        durable=True,
        arguments={"alternate-exchange": UNROUTABLE_EXCHANGE.name},
    )


def dead_letter_exchange(domain: str) -> Exchange:
    """The exchange that receives ``domain``'s dead letters (``<domain>.dlx``)."""
    return Exchange(f"{domain}.dlx", type="direct", durable=True)


def work_queue(name: str, exchange: Exchange, routing_key: str, dlx: Exchange) -> Queue:
    """A durable quorum queue bound to ``exchange`` by the topic pattern ``routing_key``.

    A message rejected past :data:`DELIVERY_LIMIT` deliveries (or rejected without
    requeue) moves to the dead-letter queue ``<name>.dlq``, at-least-once.
    """
    return Queue(
        name,
        exchange=exchange,
        routing_key=routing_key,
        durable=True,
        queue_arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": DELIVERY_LIMIT,
            "x-dead-letter-exchange": dlx.name,
            "x-dead-letter-routing-key": name,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        },
    )


def dead_letter_queue(work: Queue, dlx: Exchange) -> Queue:
    """The quorum queue holding ``work``'s dead letters, bound to ``dlx`` by its name."""
    return Queue(
        f"{work.name}.dlq",
        exchange=dlx,
        routing_key=work.name,
        durable=True,
        queue_arguments={"x-queue-type": "quorum"},
    )


def dead_letter_queue_of(work: Queue) -> Queue | None:
    """The dead-letter queue ``work`` names in its own arguments, or ``None`` if it has none."""
    arguments = work.queue_arguments or {}
    exchange = arguments.get("x-dead-letter-exchange")
    if not exchange:
        return None
    return dead_letter_queue(work, Exchange(exchange, type="direct", durable=True))


def lost_message_tap(name: str, work_queues: Iterable[Queue]) -> Queue:
    """A durable quorum queue that receives a copy of every lost message.

    It is bound to ``unroutable`` (what no binding of a domain exchange matched) and, for
    each of ``work_queues`` with a dead-letter exchange, to that exchange by the queue's
    name (what the queue dead-letters, and what workers refuse into its ``.dlq``), so the
    originals stay where they landed for inspection while the tap's consumer acts.
    """
    bindings = [binding(UNROUTABLE_EXCHANGE, routing_key="")]
    for work in work_queues:
        target = dead_letter_queue_of(work)
        if target is not None:
            bindings.append(binding(target.exchange, routing_key=target.routing_key))
    return Queue(name, bindings=bindings, durable=True, queue_arguments={"x-queue-type": "quorum"})


def declare(connection: Connection, queues: Iterable[Queue]) -> None:
    """Declare ``queues`` with their exchanges and bindings (idempotent)."""
    channel = connection.default_channel
    for queue in queues:
        queue.bind(channel).declare()
