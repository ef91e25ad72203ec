"""The workflows domain: task ``workflow.start``, its payload and result, exchange and queue.

A producer that is not an HTTP client (the scheduler) starts a workflow by sending
``workflow.start``: the API's intake worker builds the same plan the HTTP route would
build for ``request``, and stores it with its outbox message, so the workflow is listed
and polled like any other. Each start names the schedule and the tick (the nominal fire
time) it belongs to; the workflow's id is derived from the two, so a tick sent twice
starts one workflow.

The queue ``api.intake`` also receives Celery's result clean-up, ``celery.backend_cleanup``:
the API owns the result tables (``api migrate`` creates them, its tracker reads them), so
its intake worker is the one that deletes expired results.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, Field

from contracts.base import Message, TaskContract
from contracts.topology import dead_letter_exchange, dead_letter_queue, domain_exchange, work_queue

START_WORKFLOW = "workflow.start"
"""Task name: start a workflow on behalf of a schedule (run by the API's intake worker)."""

BACKEND_CLEANUP = "celery.backend_cleanup"
"""Celery's built-in task that deletes expired task results; routed to ``api.intake``."""

ROUTING_KEY = f"{START_WORKFLOW}.default"
BACKEND_CLEANUP_ROUTING_KEY = "workflow.results.cleanup"
#: What a schedule name looks like (it becomes the workflow's origin ``schedule:<name>``).
SCHEDULE_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"

EXCHANGE = domain_exchange("workflows")
DEAD_LETTER_EXCHANGE = dead_letter_exchange("workflows")
QUEUE = work_queue("api.intake", EXCHANGE, "workflow.#", DEAD_LETTER_EXCHANGE)
QUEUES = (QUEUE,)
DEAD_LETTER_QUEUES = (dead_letter_queue(QUEUE, DEAD_LETTER_EXCHANGE),)

#: Celery route of ``celery.backend_cleanup``: it is no contract, but a worker must run it.
BACKEND_CLEANUP_ROUTE = {
    "queue": QUEUE.name,
    "exchange": EXCHANGE.name,
    "routing_key": BACKEND_CLEANUP_ROUTING_KEY,
}

_TICK_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "switchyard:workflow.start")


class WorkflowKind(StrEnum):
    """Which kind of workflow to start; ``request`` is that kind's HTTP request body."""

    EMAIL = "email"
    """``POST /v1/emails``."""
    REPORT = "report"
    """``POST /v1/reports``."""
    REPORT_BATCH = "report_batch"
    """``POST /v1/report-batches``."""


class StartWorkflow(Message):
    """Payload of ``workflow.start``: which schedule and tick, for whom, and what to run.

    ``request`` is the body the HTTP route of ``kind`` accepts; the intake validates it
    with the API's own request model.
    """

    schedule: str = Field(pattern=SCHEDULE_NAME_PATTERN)
    tick: AwareDatetime
    tenant: str = Field(min_length=1, max_length=64)
    kind: WorkflowKind
    request: dict[str, Any]


class StartOutcome(StrEnum):
    """What the intake did with a start."""

    STARTED = "started"
    """The workflow was stored; the API's relay publishes it."""
    DUPLICATE = "duplicate"
    """This tick's workflow already existed (the tick was sent or delivered twice)."""
    SKIPPED = "skipped"
    """The schedule's previous run had not finished; this tick starts nothing."""


class WorkflowStarted(Message):
    """Result of ``workflow.start``.

    ``workflow_id`` is the tick's workflow (for ``skipped``, the id it would have had);
    ``unfinished`` is the earlier run that caused a skip.
    """

    workflow_id: uuid.UUID
    outcome: StartOutcome
    unfinished: uuid.UUID | None = None


def workflow_id_for(schedule: str, tick: datetime) -> uuid.UUID:
    """The id of the workflow that ``schedule``'s run at ``tick`` starts, the same everywhere.

    The scheduler logs it when it sends the tick, and the intake stores the workflow
    under it, so a tick sent twice (two leaders, a failover, a redelivery) is one workflow.
    """
    if tick.tzinfo is None:
        raise ValueError("tick must be timezone-aware")
    moment = tick.astimezone(UTC).isoformat(timespec="microseconds")
    return uuid.uuid5(_TICK_NAMESPACE, f"{schedule}@{moment}")


START = TaskContract(
    name=START_WORKFLOW,
    payload=StartWorkflow,
    result=WorkflowStarted,
    exchange=EXCHANGE,
    queues=QUEUES,
    queue_for=lambda kwargs: QUEUE,
    routing_key_for=lambda kwargs: ROUTING_KEY,
    dead_letter_queues=DEAD_LETTER_QUEUES,
)
