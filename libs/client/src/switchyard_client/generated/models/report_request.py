from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.report_format import ReportFormat
from ..models.report_kind import ReportKind
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.period import Period


T = TypeVar("T", bound="ReportRequest")


@_attrs_define
class ReportRequest:
    """``POST /v1/reports``: one report, or with ``deliver_to`` a chain that emails it.

    Attributes:
        kind (ReportKind): What a report is about.
        period (Period): An inclusive range of days: ``end >= start``, at most 366 days long.
        format_ (ReportFormat | Unset): The artifact's format.
        deliver_to (list[str] | None | Unset):
    """

    kind: ReportKind
    period: Period
    format_: ReportFormat | Unset = UNSET
    deliver_to: list[str] | Unset | None = UNSET

    def to_dict(self) -> dict[str, Any]:
        kind = self.kind.value

        period = self.period.to_dict()

        format_: str | Unset = UNSET
        if not isinstance(self.format_, Unset):
            format_ = self.format_.value

        deliver_to: list[str] | Unset | None
        if isinstance(self.deliver_to, Unset):
            deliver_to = UNSET
        elif isinstance(self.deliver_to, list):
            deliver_to = self.deliver_to

        else:
            deliver_to = self.deliver_to

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "kind": kind,
                "period": period,
            }
        )
        if format_ is not UNSET:
            field_dict["format"] = format_
        if deliver_to is not UNSET:
            field_dict["deliver_to"] = deliver_to

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.period import Period

        d = dict(src_dict)
        kind = ReportKind(d.pop("kind"))

        period = Period.from_dict(d.pop("period"))

        _format_ = d.pop("format", UNSET)
        format_: ReportFormat | Unset
        format_ = UNSET if isinstance(_format_, Unset) else ReportFormat(_format_)

        def _parse_deliver_to(data: object) -> list[str] | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                deliver_to_type_0 = cast(list[str], data)

                return deliver_to_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | Unset | None, data)

        deliver_to = _parse_deliver_to(d.pop("deliver_to", UNSET))

        report_request = cls(
            kind=kind,
            period=period,
            format_=format_,
            deliver_to=deliver_to,
        )

        return report_request
