from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.too_many_requests_quota_type_0 import TooManyRequestsQuotaType0
from ..types import UNSET, Unset

T = TypeVar("T", bound="TooManyRequests")


@_attrs_define
class TooManyRequests:
    """429 to a submission, with ``Retry-After``: past one of the tenant's quotas, every
    field is given (``Retry-After`` is the seconds until ``resets_at``); past the key's
    rate limit, ``detail`` alone.

        Attributes:
            detail (str):
            quota (None | TooManyRequestsQuotaType0 | Unset): the quota exceeded
            limit (int | None | Unset): the quota's limit
            used (int | None | Unset): counted in the current window before this request
            requested (int | None | Unset): what this request would add
            resets_at (datetime.datetime | None | Unset): when the window ends and its count starts anew
    """

    detail: str
    quota: TooManyRequestsQuotaType0 | Unset | None = UNSET
    limit: int | Unset | None = UNSET
    used: int | Unset | None = UNSET
    requested: int | Unset | None = UNSET
    resets_at: datetime.datetime | Unset | None = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        detail = self.detail

        quota: str | Unset | None
        if isinstance(self.quota, Unset):
            quota = UNSET
        elif isinstance(self.quota, TooManyRequestsQuotaType0):
            quota = self.quota.value
        else:
            quota = self.quota

        limit: int | Unset | None
        limit = UNSET if isinstance(self.limit, Unset) else self.limit

        used: int | Unset | None
        used = UNSET if isinstance(self.used, Unset) else self.used

        requested: int | Unset | None
        requested = UNSET if isinstance(self.requested, Unset) else self.requested

        resets_at: str | Unset | None
        if isinstance(self.resets_at, Unset):
            resets_at = UNSET
        elif isinstance(self.resets_at, datetime.datetime):
            resets_at = self.resets_at.isoformat()
        else:
            resets_at = self.resets_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "detail": detail,
            }
        )
        if quota is not UNSET:
            field_dict["quota"] = quota
        if limit is not UNSET:
            field_dict["limit"] = limit
        if used is not UNSET:
            field_dict["used"] = used
        if requested is not UNSET:
            field_dict["requested"] = requested
        if resets_at is not UNSET:
            field_dict["resets_at"] = resets_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        detail = d.pop("detail")

        def _parse_quota(data: object) -> TooManyRequestsQuotaType0 | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                quota_type_0 = TooManyRequestsQuotaType0(data)

                return quota_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(TooManyRequestsQuotaType0 | Unset | None, data)

        quota = _parse_quota(d.pop("quota", UNSET))

        def _parse_limit(data: object) -> int | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | Unset | None, data)

        limit = _parse_limit(d.pop("limit", UNSET))

        def _parse_used(data: object) -> int | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | Unset | None, data)

        used = _parse_used(d.pop("used", UNSET))

        def _parse_requested(data: object) -> int | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | Unset | None, data)

        requested = _parse_requested(d.pop("requested", UNSET))

        def _parse_resets_at(data: object) -> datetime.datetime | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                resets_at_type_0 = datetime.datetime.fromisoformat(data)

                return resets_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | Unset | None, data)

        resets_at = _parse_resets_at(d.pop("resets_at", UNSET))

        too_many_requests = cls(
            detail=detail,
            quota=quota,
            limit=limit,
            used=used,
            requested=requested,
            resets_at=resets_at,
        )

        too_many_requests.additional_properties = d
        return too_many_requests

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
