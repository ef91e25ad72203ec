"""The plan each kind of workflow request builds, the same as its HTTP route builds it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

from celery import Celery
from pydantic import BaseModel, ValidationError

from api import reporting
from api.schemas import EmailRequest, ReportBatchRequest, ReportRequest
from api.workflows import plans
from api.workflows.plans import Plan
from contracts import SendEmail, WorkflowKind

Builder = Callable[[Celery, BaseModel, str, UUID], Plan]


class InvalidRequest(Exception):
    """The request does not satisfy its kind's HTTP request model (never retried)."""


def _email(app: Celery, body: BaseModel, tenant: str, workflow_id: UUID) -> Plan:
    assert isinstance(body, EmailRequest)
    payload = SendEmail(**body.model_dump(), tenant=tenant)
    return plans.single(app, "email", payload, workflow_id=workflow_id)


def _report(app: Celery, body: BaseModel, tenant: str, workflow_id: UUID) -> Plan:
    assert isinstance(body, ReportRequest)
    [generate] = reporting.generate_payloads([body], tenant)
    if body.deliver_to:
        email = reporting.delivery(body.deliver_to, [generate], tenant)
        return plans.sequence(app, "report", [generate, email], workflow_id=workflow_id)
    return plans.single(app, "report", generate, workflow_id=workflow_id)


def _report_batch(app: Celery, body: BaseModel, tenant: str, workflow_id: UUID) -> Plan:
    assert isinstance(body, ReportBatchRequest)
    payloads = reporting.generate_payloads(body.reports, tenant)
    then = reporting.delivery(body.deliver_to, payloads, tenant) if body.deliver_to else None
    return plans.parallel(app, "report_batch", payloads, then=then, workflow_id=workflow_id)


#: Per kind: the HTTP route's request model, and how the route turns it into a plan.
KINDS: dict[WorkflowKind, tuple[type[BaseModel], Builder]] = {
    WorkflowKind.EMAIL: (EmailRequest, _email),
    WorkflowKind.REPORT: (ReportRequest, _report),
    WorkflowKind.REPORT_BATCH: (ReportBatchRequest, _report_batch),
}


def plan_for(
    app: Celery,
    kind: WorkflowKind,
    request: Mapping[str, Any],
    *,
    tenant: str,
    workflow_id: UUID,
) -> tuple[Plan, dict[str, Any]]:
    """The plan of ``request`` under ``workflow_id``, and the request as it is stored."""
    model, build = KINDS[kind]
    try:
        body = model.model_validate(dict(request))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(request)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise InvalidRequest(f"{kind.value} request rejected: {problems}") from None
    return build(app, body, tenant, workflow_id), body.model_dump(mode="json")
