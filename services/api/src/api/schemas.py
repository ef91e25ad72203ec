"""Request and response bodies of the HTTP API (also its OpenAPI description)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from contracts.email import EmailContent

StepStatus = Literal["queued", "running", "retrying", "succeeded", "failed", "cancelled"]
WorkflowStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class Request(BaseModel):
    """A request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class EmailRequest(EmailContent):
    """``POST /v1/emails``: one email, delivered by the email worker."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Accepted(BaseModel):
    """The answer to an accepted submission (202)."""

    workflow_id: str
    status_url: str


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
