from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="WebhookRequest")


@_attrs_define
class WebhookRequest:
    """``POST /v1/webhooks``: where to send which events.

    Attributes:
        url (str): http or https; its host must resolve to public addresses only
        events (list[Literal['workflow.finished']] | Unset):
    """

    url: str
    events: list[Literal["workflow.finished"]] | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        url = self.url

        events: list[Literal["workflow.finished"]] | Unset = UNSET
        if not isinstance(self.events, Unset):
            events = self.events

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "url": url,
            }
        )
        if events is not UNSET:
            field_dict["events"] = events

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        url = d.pop("url")

        _events = d.pop("events", UNSET)
        events: list[Literal["workflow.finished"]] | Unset = UNSET
        if _events is not UNSET:
            events = []
            for events_item_data in _events:
                events_item = cast(Literal["workflow.finished"], events_item_data)
                if events_item != "workflow.finished":
                    raise ValueError(
                        f"events_item must match const 'workflow.finished', got '{events_item}'"
                    )
                events.append(events_item)

        webhook_request = cls(
            url=url,
            events=events,
        )

        return webhook_request
