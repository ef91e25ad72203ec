"""Request and response bodies of the HTTP API (also its OpenAPI description)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts import Period, ReportFormat, ReportKind
from contracts.email import MAX_ATTACHMENTS, MAX_RECIPIENTS, EmailContent, Recipient

StepStatus = Literal["queued", "running", "retrying", "succeeded", "failed", "cancelled"]
WorkflowStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class Request(BaseModel):
    """A request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class EmailRequest(EmailContent):
    """``POST /v1/emails``: one email, delivered by the email worker."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ReportSpec(Request):
    """One report: what it is about, the days it covers, and its format."""

    kind: ReportKind
    period: Period
    format: ReportFormat = ReportFormat.CSV


class ReportRequest(ReportSpec):
    """``POST /v1/reports``: one report, or with ``deliver_to`` a chain that emails it."""

    deliver_to: list[Recipient] | None = Field(
        default=None, min_length=1, max_length=MAX_RECIPIENTS
    )


class ReportBatchRequest(Request):
    """``POST /v1/report-batches``: reports in parallel, or with ``deliver_to`` a chord
    that emails one digest carrying all of them once every report succeeded."""

    reports: list[ReportSpec] = Field(min_length=1, max_length=MAX_ATTACHMENTS)
    deliver_to: list[Recipient] | None = Field(
        default=None, min_length=1, max_length=MAX_RECIPIENTS
    )


class ReportMetadata(BaseModel):
    """A stored report (``GET /v1/reports/{id}``); its bytes are at ``content_url``."""

    id: str
    kind: str
    format: str
    period: dict[str, str]
    content_type: str
    filename: str
    bytes: int
    rows: int
    sha256: str
    created_at: str
    content_url: str


#: What a POST that starts a workflow may answer besides 202.
SUBMIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "replayed: this Idempotency-Key was used with this body"},
    400: {"description": "the body could not be read (not UTF-8 text)"},
    409: {"description": "this Idempotency-Key was used with a different body"},
    413: {"description": "request body too large"},
}

#: What every authenticated route may answer.
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing, invalid or revoked API key"},
    429: {"description": "rate limit exceeded; see Retry-After"},
}


class Accepted(BaseModel):
    """The answer to an accepted submission (202)."""

    workflow_id: str
    status_url: str
    report_ids: list[str] | None = Field(
        default=None, description="ids of the reports the workflow will store (report workflows)"
    )


class Progress(BaseModel):
    completed: int
    total: int


class StepError(BaseModel):
    type: str
    message: str


class Step(BaseModel):
    name: str
    task_id: str
    status: StepStatus
    attempts: int
    started_at: str | None
    finished_at: str | None
    result: Any
    error: StepError | None
    worker: str | None
    progress: Progress | None


class WorkflowDocument(BaseModel):
    """The one status document of a workflow, whatever its shape."""

    id: str
    kind: str
    status: WorkflowStatus
    origin: str
    request_id: str | None = Field(
        description="the X-Request-ID of the request that started it: grep the logs for it"
    )
    created_at: str
    updated_at: str
    finished_at: str | None
    progress: Progress
    steps: list[Step]
    result: Any
    error: StepError | None


class WorkflowPage(BaseModel):
    items: list[WorkflowDocument]
    next_cursor: str | None
