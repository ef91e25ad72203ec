"""Routing derived from the contracts: the one place that maps task names to queues.

Every service, producer or consumer, installs :data:`TASK_QUEUES` and :func:`route_task`
through the app factory, so they all declare the same queues with the same arguments
(Celery's quorum-queue detection reads the sender's own queue list).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

from kombu import Exchange, Queue

from contracts import email, reports, webhooks, workflows
from contracts.base import TaskContract
from contracts.topology import UNROUTABLE_QUEUE, lost_message_tap

CONTRACTS: dict[str, TaskContract[Any, Any]] = {
    contract.name: contract
    for contract in (email.SEND, reports.GENERATE, workflows.START, webhooks.DELIVER)
}

#: The contracts ``just new-worker`` made (their module says ``SCAFFOLDED = True``): the
#: contracts' tests pin the hand-written topology by name and check these by its rules.
SCAFFOLDED: tuple[TaskContract[Any, Any], ...] = tuple(
    contract
    for contract in CONTRACTS.values()
    if getattr(sys.modules[contract.payload.__module__], "SCAFFOLDED", False)
)

#: Routes of tasks that are no contract but that a worker must still receive (Celery's
#: own clean-up); any other name goes to the default queue, ``unroutable``.
OTHER_ROUTES: dict[str, dict[str, str]] = {
    workflows.BACKEND_CLEANUP: workflows.BACKEND_CLEANUP_ROUTE,
}

#: Celery's task completing a chord on a result backend without native chords: it polls
#: the chord's header, retrying itself every second, then publishes the callback.
CHORD_UNLOCK = "celery.chord_unlock"

#: Every queue of the system, the unroutable catch-all first: a domain exchange names it
#: as its alternate exchange, so it has to exist before anything is published.
TASK_QUEUES: tuple[Queue, ...] = (
    UNROUTABLE_QUEUE,
    *(queue for contract in CONTRACTS.values() for queue in contract.queues),
)

#: Every exchange a task can be routed to (the catch-all's too: Celery's default queue for
#: a name it cannot route): what a producer relies on.
ROUTED_EXCHANGES: tuple[Exchange, ...] = tuple(
    {queue.exchange.name: queue.exchange for queue in TASK_QUEUES}.values()
)

DEAD_LETTER_QUEUES: tuple[Queue, ...] = tuple(
    queue for contract in CONTRACTS.values() for queue in contract.dead_letter_queues
)


#: The API intake's copy of every unroutable or dead-lettered message: it fails the
#: message's workflow at once (``api.intake.dead_letters``).
LOST_MESSAGES_QUEUE: Queue = lost_message_tap("api.dead-letters", TASK_QUEUES)


def contract_for(task_name: str) -> TaskContract[Any, Any]:
    """The contract of ``task_name``; raises ``KeyError`` for an unknown name."""
    return CONTRACTS[task_name]


def route_task(
    name: str,
    args: Sequence[Any],
    kwargs: Mapping[str, Any] | None,
    options: Mapping[str, Any],
    task: Any = None,
    **_: Any,
) -> dict[str, Any] | None:
    """Celery router: the queue, exchange and routing key for a contract task.

    Returns ``None`` for names that are neither contracts nor in :data:`OTHER_ROUTES`, so
    Celery falls back to the default queue (which is the unroutable queue: such a task is
    visible, not lost).

    A routed publish declares nothing (Celery would declare the queue on each producer's
    first publish): a work queue is its consumer's, declared by its worker and by ``api
    migrate``, and a producer's broker user may not declare it (:mod:`switchyard_runtime.grants`).
    A producer declares the exchanges it publishes to when it starts.

    :data:`CHORD_UNLOCK` goes where its callback goes (:func:`_route_of_callback`).
    """
    if name == CHORD_UNLOCK:
        return _route_of_callback(args)
    contract = CONTRACTS.get(name)
    if contract is None:
        other = OTHER_ROUTES.get(name)
        return None if other is None else {**other, "declare": []}
    return {**contract.route(kwargs or {}), "declare": []}


def _route_of_callback(args: Sequence[Any]) -> dict[str, Any] | None:
    """The route of the callback a ``celery.chord_unlock`` carries (its second argument).

    Celery names the callback's queue when it first publishes the unlock, but each retry
    is routed again by the task's name. Unrouted, a retry would go to the default queue,
    ``unroutable``, where no worker unlocks the chord: it would never complete once its
    header took longer than the first poll.
    """
    callback = args[1] if isinstance(args, Sequence) and len(args) > 1 else None
    if not isinstance(callback, Mapping):
        return None
    task, kwargs = callback.get("task"), callback.get("kwargs")
    if not isinstance(task, str) or task == CHORD_UNLOCK:
        return None
    return route_task(task, (), kwargs if isinstance(kwargs, Mapping) else {}, {})


def queues_named(names: list[str]) -> list[Queue]:
    """The declared queues with these names (``KeyError`` names the first unknown one)."""
    by_name = {queue.name: queue for queue in TASK_QUEUES}
    return [by_name[name] for name in names]
