"""Turning accepted requests into Celery canvases, built by task name from the contracts.

Every task id is chosen here, before anything is published, so the workflow's steps are
known (and pollable) from the moment the request is accepted; so is the workflow id,
unless the caller brings one (a scheduled run's id is derived from its tick). The canvas
is kept as the plain JSON dict Celery serializes signatures to, which the outbox stores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from celery import Celery, chain, chord, group

from api.workflows.steps import Planned
from contracts import GenerateReport, Message, SendEmail, signature, task_name_of
from switchyard_runtime import tracing


@dataclass(frozen=True)
class Demand:
    """What a workflow asks of its tenant's quotas and its key's lanes: every email
    step's recipients (to, cc and bcc), its report steps, and the lanes its emails use
    (in step order)."""

    recipients: int = 0
    reports: int = 0
    lanes: tuple[str, ...] = ()


def demand_of(payloads: Sequence[Message]) -> Demand:
    emails = [payload for payload in payloads if isinstance(payload, SendEmail)]
    lanes = dict.fromkeys(str(email.lane) for email in emails)
    return Demand(
        recipients=sum(len(e.to) + len(e.cc) + len(e.bcc) for e in emails),
        reports=sum(isinstance(payload, GenerateReport) for payload in payloads),
        lanes=tuple(lanes),
    )


@dataclass(frozen=True)
class Plan:
    """A workflow ready to be stored: its steps, the canvas that runs them, and what it
    asks of its tenant's quotas."""

    workflow_id: UUID
    kind: str
    shape: str
    steps: list[Planned]
    canvas: dict[str, Any]
    demand: Demand = Demand()


def _step(payload: Message) -> Planned:
    return Planned(task_name_of(payload), str(uuid4()))


def _headers(workflow_id: UUID, request_id: str | None) -> dict[str, str]:
    headers = {"workflow_id": str(workflow_id)}
    if request_id:
        headers["request_id"] = request_id
    # With tracing on, the worker's spans continue this request's trace.
    tracing.inject_into(headers)
    return headers


def single(
    app: Celery,
    kind: str,
    payload: Message,
    request_id: str | None = None,
    *,
    workflow_id: UUID | None = None,
) -> Plan:
    """One task."""
    workflow_id = workflow_id or uuid4()
    step = _step(payload)
    sig = signature(app, payload, task_id=step.task_id, headers=_headers(workflow_id, request_id))
    return Plan(workflow_id, kind, "single", [step], dict(sig), demand_of([payload]))


def sequence(
    app: Celery,
    kind: str,
    payloads: Sequence[Message],
    request_id: str | None = None,
    *,
    workflow_id: UUID | None = None,
) -> Plan:
    """A chain: each task starts when the one before it succeeded."""
    workflow_id = workflow_id or uuid4()
    headers = _headers(workflow_id, request_id)
    steps = [_step(payload) for payload in payloads]
    sigs = [
        signature(app, payload, task_id=step.task_id, headers=headers)
        for payload, step in zip(payloads, steps, strict=True)
    ]
    return Plan(workflow_id, kind, "chain", steps, dict(chain(*sigs)), demand_of(payloads))


def parallel(
    app: Celery,
    kind: str,
    payloads: Sequence[Message],
    then: Message | None = None,
    request_id: str | None = None,
    *,
    workflow_id: UUID | None = None,
) -> Plan:
    """A group of tasks running side by side, or, with ``then``, a chord.

    The chord's callback runs once every member succeeded. On the database result
    backend Celery completes a chord with the polling task ``celery.chord_unlock``, which
    it publishes to the callback's queue: the worker that runs the callback unlocks it.
    """
    workflow_id = workflow_id or uuid4()
    headers = _headers(workflow_id, request_id)
    steps = [_step(payload) for payload in payloads]
    members = [
        signature(app, payload, task_id=step.task_id, headers=headers)
        for payload, step in zip(payloads, steps, strict=True)
    ]
    if then is None:
        return Plan(workflow_id, kind, "group", steps, dict(group(members)), demand_of(payloads))
    callback_step = _step(then)
    callback = signature(app, then, task_id=callback_step.task_id, headers=headers)
    canvas = chord(group(members), callback)
    return Plan(
        workflow_id,
        kind,
        "chord",
        [*steps, callback_step],
        dict(canvas),
        demand_of([*payloads, then]),
    )
