"""Request and response bodies of the HTTP API (also its OpenAPI description)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from contracts import Period, ReportFormat, ReportKind
from contracts.email import MAX_ATTACHMENTS, MAX_RECIPIENTS, EmailContent, Recipient

StepStatus = Literal["queued", "running", "retrying", "succeeded", "failed", "cancelled"]
WorkflowStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
#: A moment as the API writes it: RFC 3339, in UTC.
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]

_WORKFLOW_ID = "0b6f7f6e-3c1d-4d8e-9a55-2f7f1f0f3c11"
_TASK_ID = "5d2a7c1e-8f3b-4b6a-a1d2-9e8f7a6b5c4d"
_REPORT_ID = "8c3e1f2a-6b7d-4e9f-8a1b-2c3d4e5f6a7b"


class Request(BaseModel):
    """A request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class EmailRequest(EmailContent):
    """``POST /v1/emails``: one email, delivered by the email worker."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "to": ["Ada Lovelace <ada@example.com>"],
                    "subject": "Your invoice",
                    "text": "Hello Ada, your invoice is attached.",
                    "lane": "transactional",
                }
            ]
        },
    )


class ReportSpec(Request):
    """One report: what it is about, the days it covers, and its format."""

    kind: ReportKind
    period: Period
    format: ReportFormat = ReportFormat.CSV


class ReportRequest(ReportSpec):
    """``POST /v1/reports``: one report, or with ``deliver_to`` a chain that emails it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "email_activity",
                    "period": {"start": "2026-11-01", "end": "2026-11-30"},
                    "format": "csv",
                    "deliver_to": ["ada@example.com"],
                }
            ]
        },
    )

    deliver_to: list[Recipient] | None = Field(
        default=None, min_length=1, max_length=MAX_RECIPIENTS
    )


class ReportBatchRequest(Request):
    """``POST /v1/report-batches``: reports in parallel, or with ``deliver_to`` a chord
    that emails one digest carrying all of them once every report succeeded."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "reports": [
                        {
                            "kind": "email_activity",
                            "period": {"start": "2026-11-01", "end": "2026-11-30"},
                        },
                        {
                            "kind": "workflow_summary",
                            "period": {"start": "2026-11-01", "end": "2026-11-30"},
                            "format": "html",
                        },
                    ],
                    "deliver_to": ["ada@example.com"],
                }
            ]
        },
    )

    reports: list[ReportSpec] = Field(min_length=1, max_length=MAX_ATTACHMENTS)
    deliver_to: list[Recipient] | None = Field(
        default=None, min_length=1, max_length=MAX_RECIPIENTS
    )


class ReportMetadata(BaseModel):
    """A stored report (``GET /v1/reports/{id}``); its bytes are at ``content_url``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": _REPORT_ID,
                    "kind": "email_activity",
                    "format": "csv",
                    "period": {"start": "2026-11-01", "end": "2026-11-30"},
                    "content_type": "text/csv; charset=utf-8",
                    "filename": "email_activity_2026-11-01_2026-11-30.csv",
                    "bytes": 2048,
                    "rows": 60,
                    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                    "created_at": "2026-12-01T06:00:02.512000+00:00",
                    "content_url": f"/v1/reports/{_REPORT_ID}/content",
                }
            ]
        }
    )

    id: str
    kind: str
    format: str
    period: dict[str, str]
    content_type: str
    filename: str
    bytes: int
    rows: int
    sha256: str
    created_at: Timestamp
    content_url: str


class ErrorBody(BaseModel):
    """What every refusal but a 422 answers: what went wrong, for a person to read."""

    detail: str = Field(examples=["workflow not found"])


def error(description: str, example: str) -> dict[str, Any]:
    """A documented error answer: its description, the :class:`ErrorBody` schema, an example."""
    return {
        "description": description,
        "model": ErrorBody,
        "content": {"application/json": {"example": {"detail": example}}},
    }


def not_found(example: str) -> dict[int | str, dict[str, Any]]:
    return {404: error("no such resource for this tenant", example)}


class LaneRefused(ErrorBody):
    """An email step in a lane the API key may not use (403)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "detail": "this API key may not send email in lane 'bulk'",
                    "lane": "bulk",
                    "loc": ["body", "lane"],
                }
            ]
        }
    )

    lane: str = Field(description="the lane the key lacks")
    loc: list[str] = Field(description="where the request chose that lane")


class TooManyRequests(ErrorBody):
    """429 to a submission, with ``Retry-After``: past one of the tenant's quotas, every
    field is given (``Retry-After`` is the seconds until ``resets_at``); past the key's
    rate limit, ``detail`` alone."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "detail": "quota of 10000 recipients per day exceeded: 9999 used, 2 asked;"
                    " it resets at 2026-12-03T00:00:00+00:00",
                    "quota": "recipients_per_day",
                    "limit": 10000,
                    "used": 9999,
                    "requested": 2,
                    "resets_at": "2026-12-03T00:00:00+00:00",
                }
            ]
        }
    )

    quota: Literal["recipients_per_day", "reports_per_hour"] | None = Field(
        default=None, description="the quota exceeded"
    )
    limit: int | None = Field(default=None, description="the quota's limit")
    used: int | None = Field(
        default=None, description="counted in the current window before this request"
    )
    requested: int | None = Field(default=None, description="what this request would add")
    resets_at: Timestamp | None = Field(
        default=None, description="when the window ends and its count starts anew"
    )


#: What a POST that starts a workflow may answer besides 202.
SUBMIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "replayed: this Idempotency-Key was used with this body"},
    400: error(
        "the body could not be read (not UTF-8 text)",
        "the request body is not UTF-8 text",
    ),
    409: error(
        "this Idempotency-Key was used with a different body",
        "Idempotency-Key already used with a different request body",
    ),
    403: {
        "description": "an email step's lane is not one of the API key's lanes",
        "model": LaneRefused,
    },
    413: error("request body too large", "request body larger than 1048576 bytes"),
    429: {
        "description": "one of the tenant's quotas exceeded (recipients per day, reports"
        " per hour), or a rate limit as on every route; see Retry-After",
        "model": TooManyRequests,
    },
}

#: What every authenticated route may answer.
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: error(
        "missing, invalid or revoked API key",
        "missing API key: send 'Authorization: Bearer <key>'",
    ),
    403: error("the key may not do this", "this key may not do this"),
    429: error(
        "rate limit exceeded, too many requests without a valid key from this address, or"
        " the key's cap of held requests reached; see Retry-After",
        "rate limit of 100/second exceeded for this key",
    ),
    503: error(
        "the database is unavailable or every connection is busy; see Retry-After",
        "the database is unavailable; retry shortly",
    ),
}


class Accepted(BaseModel):
    """The answer to an accepted submission (202)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"workflow_id": _WORKFLOW_ID, "status_url": f"/v1/workflows/{_WORKFLOW_ID}"}
            ]
        }
    )

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
    started_at: Timestamp | None
    finished_at: Timestamp | None
    result: Any
    error: StepError | None
    worker: str | None
    progress: Progress | None


_DOCUMENT_EXAMPLE: dict[str, Any] = {
    "id": _WORKFLOW_ID,
    "kind": "email",
    "status": "succeeded",
    "origin": "api",
    "request_id": "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f",
    "created_at": "2026-12-01T09:30:00.120000+00:00",
    "updated_at": "2026-12-01T09:30:00.410000+00:00",
    "finished_at": "2026-12-01T09:30:00.410000+00:00",
    "progress": {"completed": 1, "total": 1},
    "steps": [
        {
            "name": "email.send",
            "task_id": _TASK_ID,
            "status": "succeeded",
            "attempts": 1,
            "started_at": "2026-12-01T09:30:00.180000+00:00",
            "finished_at": "2026-12-01T09:30:00.400000+00:00",
            "result": {
                "message_id": "<174.1@switchyard.localhost>",
                "accepted": ["ada@example.com"],
                "refused": [],
            },
            "error": None,
            "worker": "email-worker@host",
            "progress": None,
        }
    ],
    "result": {
        "message_id": "<174.1@switchyard.localhost>",
        "accepted": ["ada@example.com"],
        "refused": [],
    },
    "error": None,
}


class WorkflowDocument(BaseModel):
    """The one status document of a workflow, whatever its shape."""

    model_config = ConfigDict(json_schema_extra={"examples": [_DOCUMENT_EXAMPLE]})

    id: str
    kind: str
    status: WorkflowStatus
    origin: str
    request_id: str | None = Field(
        description="the X-Request-ID of the request that started it: grep the logs for it"
    )
    created_at: Timestamp
    updated_at: Timestamp
    finished_at: Timestamp | None
    progress: Progress
    steps: list[Step]
    result: Any
    error: StepError | None


class AlreadyFinished(ErrorBody):
    """A cancel of a workflow that had finished (409): why, and its final document."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"detail": "workflow already succeeded", "workflow": _DOCUMENT_EXAMPLE}]
        }
    )

    workflow: WorkflowDocument


class WorkflowPage(BaseModel):
    """A page of workflows, newest first; ``next_cursor`` fetches the next one."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_DOCUMENT_EXAMPLE], "next_cursor": None}]}
    )

    items: list[WorkflowDocument]
    next_cursor: str | None
