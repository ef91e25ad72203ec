"""Accepting a workflow: the workflow, its outbox message, its quota counting and the
``Idempotency-Key`` claim are committed together (one statement without a key, one
transaction with one). Before anything is stored, every email step's lane must be one
the caller's key may use.

:func:`submit` answers an outcome (:data:`Outcome`), not an HTTP response: the routes
map each to its status, body and headers (:mod:`api.routes.outcomes`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

from api import db
from api.access import idempotency, keys, quotas
from api.services import Services
from api.workflows import creation, values
from api.workflows.plans import Plan

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Accepted:
    """Stored, counted and on its way (202): the workflow id, where to poll it and the
    reports it will store (:func:`accepted_body`)."""

    body: dict[str, Any]


@dataclass(frozen=True)
class Replayed:
    """The tenant's ``Idempotency-Key`` came again with the same request: its first
    answer, and nothing stored, counted or sent (200)."""

    body: dict[str, Any]


@dataclass(frozen=True)
class Conflict:
    """The ``Idempotency-Key`` was already used with another request (409)."""

    workflow_id: str


@dataclass(frozen=True)
class LaneRefused:
    """An email step is in a lane the key may not use (403); ``field`` is where the
    request chose that lane."""

    lane: str
    field: tuple[str, ...]


@dataclass(frozen=True)
class QuotaExceeded:
    """Past one of the tenant's quotas (429), and how long until it resets."""

    exceeded: quotas.Exceeded
    retry_after: int


#: What a submission comes to.
Outcome = Accepted | Replayed | Conflict | LaneRefused | QuotaExceeded


async def submit(
    services: Services,
    plan: Plan,
    *,
    caller: keys.Caller,
    request: Mapping[str, Any],
    path: str,
    idempotency_key: str | None = None,
    report_ids: list[str] | None = None,
    origin: str = "api",
    request_id: str | None = None,
    lane_field: tuple[str, ...] = ("body", "lane"),
) -> Outcome:
    """Commit the workflow with its outbox message, wake the relay: :class:`Accepted`.

    With an ``Idempotency-Key`` already used by this tenant, nothing is stored, counted
    or sent: the same request is :class:`Replayed` with the first workflow, another one
    is a :class:`Conflict`. An email step in a lane the key lacks is :class:`LaneRefused`
    (``lane_field`` is where the request chose that lane); a submission past one of the
    tenant's quotas :class:`QuotaExceeded`.
    """
    tenant = caller.tenant
    for lane in plan.demand.lanes:
        if not caller.may_use(lane):
            return LaneRefused(lane, lane_field)
    body = accepted_body(plan, report_ids)
    settings = services.settings
    charge = quotas.Charge(
        recipients=plan.demand.recipients,
        reports=plan.demand.reports,
        default_recipients_per_day=settings.quota_recipients_per_day,
        default_reports_per_hour=settings.quota_reports_per_hour,
    )
    replay: idempotency.Replay | None = None
    try:
        if idempotency_key is None:
            await creation.create(
                services.pool,
                plan,
                tenant=tenant,
                request=request,
                deadline=settings.deadline_of(plan.kind),
                origin=origin,
                request_id=request_id,
                charge=charge,
            )
        else:
            async with db.transaction(services.pool) as conn:
                # On a replay the claim inserts nothing, so committing stores nothing
                # either, and nothing is counted.
                replay = await idempotency.claim(
                    conn,
                    tenant=tenant,
                    key=idempotency_key,
                    fingerprint=idempotency.request_hash(path, request),
                    workflow_id=plan.workflow_id,
                    response=body,
                    at=values.now(),
                )
                if replay is None:
                    await creation.create(
                        conn,
                        plan,
                        tenant=tenant,
                        request=request,
                        deadline=settings.deadline_of(plan.kind),
                        origin=origin,
                        request_id=request_id,
                        charge=charge,
                    )
    except asyncpg.RaiseError as error:
        refused = quotas.exceeded(error)
        if refused is None:
            raise
        log.info(
            "quota exceeded",
            tenant=tenant,
            quota=refused.quota,
            limit=refused.limit,
            used=refused.used,
            requested=refused.requested,
        )
        return QuotaExceeded(refused, refused.retry_after(values.now()))
    if replay is not None:
        if not replay.same_request:
            return Conflict(str(replay.response["workflow_id"]))
        return Replayed(replay.response)
    services.metrics.accepted(plan.kind, origin)
    log.info(
        "workflow accepted",
        workflow_id=str(plan.workflow_id),
        kind=plan.kind,
        shape=plan.shape,
        steps=[step.task_id for step in plan.steps],
    )
    services.relay.notify()
    return Accepted(body)


def status_url(plan: Plan) -> str:
    return f"/v1/workflows/{plan.workflow_id}"


def accepted_body(plan: Plan, report_ids: list[str] | None = None) -> dict[str, Any]:
    """The workflow id, where to poll it, and the reports it will store (if any)."""
    body: dict[str, Any] = {"workflow_id": str(plan.workflow_id), "status_url": status_url(plan)}
    if report_ids is not None:
        body["report_ids"] = report_ids
    return body
