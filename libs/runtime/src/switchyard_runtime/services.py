"""What each service does on the broker: the facts its declarations and grants come from.

One :class:`Service` per broker user (its name is also its Celery app's name): the queues
it consumes, the exchanges it publishes to, and which parts of Celery's own machinery it
uses. :func:`switchyard_runtime.declaration.declare_needs` declares from it what the service relies
on, and :mod:`switchyard_runtime.grants` derives the service's RabbitMQ permissions from it, so a
queue added to a contract is declared and granted from its own definition.
"""

from __future__ import annotations

from dataclasses import dataclass

from kombu import Exchange, Queue

from contracts import email, reports, webhooks, workflows
from contracts.routing import LOST_MESSAGES_QUEUE


def _exchanges_of(queues: tuple[Queue, ...]) -> tuple[Exchange, ...]:
    found: dict[str, Exchange] = {}
    for queue in queues:
        if queue.exchange is not None and queue.exchange.name:
            found.setdefault(queue.exchange.name, queue.exchange)
    return tuple(found.values())


@dataclass(frozen=True)
class Service:
    """One service's use of the broker, as its broker user ``name``."""

    name: str
    #: The work queues its workers consume (declared by it, with their dead letters).
    consumes: tuple[Queue, ...] = ()
    #: Every exchange it publishes tasks to (a retry, a chain's next step included).
    publishes: tuple[Exchange, ...] = ()
    #: Queues it consumes that ``api migrate`` declares (their bindings need the admin).
    taps: tuple[Queue, ...] = ()
    #: A Celery worker: a remote-control node (``celery.pidbox``: revokes, ``inspect
    #: ping`` healthchecks, mingle at start) sending heartbeats and gossip (``celeryev``).
    worker: bool = False
    #: Sends remote-control broadcasts (the API's revokes) without being a worker.
    broadcasts: bool = False
    #: Publishes with a countdown, through Celery's native delayed delivery (retries, a
    #: chord's ``celery.chord_unlock``).
    delays: bool = False
    #: Declares the exchanges it publishes to although it consumes none of their queues
    #: (the API: work is accepted before any worker or ``api migrate`` ran).
    declares_what_it_publishes: bool = False

    @property
    def declares(self) -> tuple[Exchange, ...]:
        """The exchanges it declares when it starts: those of its own queues (and those
        it publishes to, with :attr:`declares_what_it_publishes`)."""
        extra = self.publishes if self.declares_what_it_publishes else ()
        return _exchanges_of((*self.consumes,)) + tuple(
            e for e in extra if e.name not in {x.name for x in _exchanges_of(self.consumes)}
        )

    @property
    def expects(self) -> tuple[Exchange, ...]:
        """Exchanges it publishes to but leaves to their owner to declare (checked)."""
        own = {exchange.name for exchange in self.declares}
        return tuple(exchange for exchange in self.publishes if exchange.name not in own)


SERVICES: dict[str, Service] = {
    service.name: service
    for service in (
        # The relay publishes the plans' first steps (a chord's chord_unlock with a
        # countdown); cancels and deadlines broadcast revokes.
        Service(
            "api",
            publishes=(email.EXCHANGE, reports.EXCHANGE, webhooks.EXCHANGE),
            broadcasts=True,
            delays=True,
            declares_what_it_publishes=True,
        ),
        # Starts go to the outbox (the API publishes them); webhooks and starts retry;
        # lost messages it fails have their unstarted steps revoked.
        Service(
            "api-intake",
            consumes=(*workflows.QUEUES, *webhooks.QUEUES),
            publishes=(workflows.EXCHANGE, webhooks.EXCHANGE),
            taps=(LOST_MESSAGES_QUEUE,),
            worker=True,
            delays=True,
        ),
        # A chord's callback is an email: its chord_unlock runs here and sends it.
        Service(
            "email-worker",
            consumes=email.QUEUES,
            publishes=(email.EXCHANGE,),
            worker=True,
            delays=True,
        ),
        # A chain's next step after a report is its email.
        Service(
            "report-worker",
            consumes=reports.QUEUES,
            publishes=(reports.EXCHANGE, email.EXCHANGE),
            worker=True,
            delays=True,
        ),
        # Each tick is a workflow.start, the result clean-up goes the same way; the
        # exchange is its consumer's (the intake's) or api migrate's to declare.
        Service("scheduler", publishes=(workflows.EXCHANGE,)),
    )
}


def service_named(name: str) -> Service | None:
    """The service whose broker user (and Celery app) is ``name``, if it is one of ours."""
    return SERVICES.get(name)
