from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.webhook_attempt_delivery_status import WebhookAttemptDeliveryStatus
from ..models.webhook_attempt_outcome import WebhookAttemptOutcome

T = TypeVar("T", bound="WebhookAttempt")


@_attrs_define
class WebhookAttempt:
    """One attempt to deliver one event to the endpoint.

    Attributes:
        id (str):
        delivery_id (str):
        webhook_id (str): the webhook-id header: the same on every attempt
        workflow_id (str):
        event (Literal['workflow.finished']):
        attempt (int): 1 for the first attempt of the delivery
        attempted_at (datetime.datetime):
        duration_ms (int):
        status_code (int | None): what the endpoint answered, if it answered
        error (None | str): why the attempt failed; null when it delivered
        outcome (WebhookAttemptOutcome):
        delivery_status (WebhookAttemptDeliveryStatus): where the delivery stands now
        next_attempt_at (datetime.datetime | None): when a pending delivery is retried
    """

    id: str
    delivery_id: str
    webhook_id: str
    workflow_id: str
    event: Literal["workflow.finished"]
    attempt: int
    attempted_at: datetime.datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    outcome: WebhookAttemptOutcome
    delivery_status: WebhookAttemptDeliveryStatus
    next_attempt_at: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        delivery_id = self.delivery_id

        webhook_id = self.webhook_id

        workflow_id = self.workflow_id

        event = self.event

        attempt = self.attempt

        attempted_at = self.attempted_at.isoformat()

        duration_ms = self.duration_ms

        status_code: int | None
        status_code = self.status_code

        error: str | None
        error = self.error

        outcome = self.outcome.value

        delivery_status = self.delivery_status.value

        next_attempt_at: str | None
        if isinstance(self.next_attempt_at, datetime.datetime):
            next_attempt_at = self.next_attempt_at.isoformat()
        else:
            next_attempt_at = self.next_attempt_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "delivery_id": delivery_id,
                "webhook_id": webhook_id,
                "workflow_id": workflow_id,
                "event": event,
                "attempt": attempt,
                "attempted_at": attempted_at,
                "duration_ms": duration_ms,
                "status_code": status_code,
                "error": error,
                "outcome": outcome,
                "delivery_status": delivery_status,
                "next_attempt_at": next_attempt_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        delivery_id = d.pop("delivery_id")

        webhook_id = d.pop("webhook_id")

        workflow_id = d.pop("workflow_id")

        event = cast(Literal["workflow.finished"], d.pop("event"))
        if event != "workflow.finished":
            raise ValueError(f"event must match const 'workflow.finished', got '{event}'")

        attempt = d.pop("attempt")

        attempted_at = datetime.datetime.fromisoformat(d.pop("attempted_at"))

        duration_ms = d.pop("duration_ms")

        def _parse_status_code(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        status_code = _parse_status_code(d.pop("status_code"))

        def _parse_error(data: object) -> str | None:
            if data is None:
                return data
            return cast(str | None, data)

        error = _parse_error(d.pop("error"))

        outcome = WebhookAttemptOutcome(d.pop("outcome"))

        delivery_status = WebhookAttemptDeliveryStatus(d.pop("delivery_status"))

        def _parse_next_attempt_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                next_attempt_at_type_0 = datetime.datetime.fromisoformat(data)

                return next_attempt_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        next_attempt_at = _parse_next_attempt_at(d.pop("next_attempt_at"))

        webhook_attempt = cls(
            id=id,
            delivery_id=delivery_id,
            webhook_id=webhook_id,
            workflow_id=workflow_id,
            event=event,
            attempt=attempt,
            attempted_at=attempted_at,
            duration_ms=duration_ms,
            status_code=status_code,
            error=error,
            outcome=outcome,
            delivery_status=delivery_status,
            next_attempt_at=next_attempt_at,
        )

        webhook_attempt.additional_properties = d
        return webhook_attempt

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
