"""Request and response bodies of ``/v1/webhooks`` (also their OpenAPI description)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.schemas import Request, Timestamp
from api.webhooks import addresses
from api.webhooks.endpoints import EVENTS, SECRET_PREFIX, WORKFLOW_FINISHED

Event = Literal["workflow.finished"]
DeliveryStatus = Literal["pending", "delivered", "failed", "cancelled"]

_ENDPOINT_ID = "3b0c5d1e-7a2f-4c8b-9d6e-1f2a3b4c5d6e"
_DELIVERY_ID = "6e5d4c3b-2a1f-4e9d-8c7b-6a5f4e3d2c1b"
_WORKFLOW_ID = "0b6f7f6e-3c1d-4d8e-9a55-2f7f1f0f3c11"
_ENDPOINT: dict[str, Any] = {
    "id": _ENDPOINT_ID,
    "url": "https://hooks.example.com/switchyard",
    "events": [WORKFLOW_FINISHED],
    "created_at": "2026-12-01T09:00:00.120000+00:00",
}


class WebhookRequest(Request):
    """``POST /v1/webhooks``: where to send which events."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"url": "https://hooks.example.com/switchyard", "events": list(EVENTS)}]
        },
    )

    url: str = Field(
        max_length=addresses.MAX_URL_LENGTH,
        description="http or https; its host must resolve to public addresses only",
    )
    events: list[Event] = Field(default=["workflow.finished"], min_length=1, max_length=10)

    @field_validator("url")
    @classmethod
    def _a_webhook_url(cls, value: str) -> str:
        addresses.parse(value)  # UrlRefused is a ValueError: 422 naming the field
        return value

    @field_validator("events")
    @classmethod
    def _once_each(cls, value: list[Event]) -> list[Event]:
        return sorted(set(value))


class WebhookEndpoint(BaseModel):
    """A registered endpoint (its secret is shown once, when it is registered)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ENDPOINT]})

    id: str
    url: str
    events: list[Event]
    created_at: Timestamp


class CreatedWebhook(WebhookEndpoint):
    """The endpoint just registered, with the secret its deliveries are signed with."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {**_ENDPOINT, "secret": f"{SECRET_PREFIX}MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw="}
            ]
        }
    )

    secret: str = Field(
        description="shown only here: verify each delivery's webhook-signature with it"
    )


class WebhookList(BaseModel):
    """The tenant's endpoints, newest first."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [_ENDPOINT]}]})

    items: list[WebhookEndpoint]


_ATTEMPT: dict[str, Any] = {
    "id": "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
    "delivery_id": _DELIVERY_ID,
    "webhook_id": "msg_" + _DELIVERY_ID.replace("-", ""),
    "workflow_id": _WORKFLOW_ID,
    "event": WORKFLOW_FINISHED,
    "attempt": 2,
    "attempted_at": "2026-12-01T09:30:06.200000+00:00",
    "duration_ms": 41,
    "status_code": 200,
    "error": None,
    "outcome": "delivered",
    "delivery_status": "delivered",
    "next_attempt_at": None,
}


class WebhookAttempt(BaseModel):
    """One attempt to deliver one event to the endpoint."""

    model_config = ConfigDict(json_schema_extra={"examples": [_ATTEMPT]})

    id: str
    delivery_id: str
    webhook_id: str = Field(description="the webhook-id header: the same on every attempt")
    workflow_id: str
    event: Event
    attempt: int = Field(description="1 for the first attempt of the delivery")
    attempted_at: Timestamp
    duration_ms: int
    status_code: int | None = Field(description="what the endpoint answered, if it answered")
    error: str | None = Field(description="why the attempt failed; null when it delivered")
    outcome: Literal["delivered", "failed"]
    delivery_status: DeliveryStatus = Field(description="where the delivery stands now")
    next_attempt_at: Timestamp | None = Field(description="when a pending delivery is retried")


class WebhookAttemptPage(BaseModel):
    """A page of attempts, newest first; ``next_cursor`` fetches the next one."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_ATTEMPT], "next_cursor": None}]}
    )

    items: list[WebhookAttempt]
    next_cursor: str | None
