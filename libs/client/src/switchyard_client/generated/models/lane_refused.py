from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="LaneRefused")


@_attrs_define
class LaneRefused:
    """An email step in a lane the API key may not use (403).

    Attributes:
        detail (str):
        lane (str): the lane the key lacks
        loc (list[str]): where the request chose that lane
    """

    detail: str
    lane: str
    loc: list[str]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        detail = self.detail

        lane = self.lane

        loc = self.loc

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "detail": detail,
                "lane": lane,
                "loc": loc,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        detail = d.pop("detail")

        lane = d.pop("lane")

        loc = cast(list[str], d.pop("loc"))

        lane_refused = cls(
            detail=detail,
            lane=lane,
            loc=loc,
        )

        lane_refused.additional_properties = d
        return lane_refused

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
