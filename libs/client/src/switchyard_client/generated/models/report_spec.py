from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..models.report_format import ReportFormat
from ..models.report_kind import ReportKind
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.period import Period


T = TypeVar("T", bound="ReportSpec")


@_attrs_define
class ReportSpec:
    """One report: what it is about, the days it covers, and its format.

    Attributes:
        kind (ReportKind): What a report is about.
        period (Period): An inclusive range of days: ``end >= start``, at most 366 days long.
        format_ (ReportFormat | Unset): The artifact's format.
    """

    kind: ReportKind
    period: Period
    format_: ReportFormat | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        kind = self.kind.value

        period = self.period.to_dict()

        format_: str | Unset = UNSET
        if not isinstance(self.format_, Unset):
            format_ = self.format_.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "kind": kind,
                "period": period,
            }
        )
        if format_ is not UNSET:
            field_dict["format"] = format_

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

        report_spec = cls(
            kind=kind,
            period=period,
            format_=format_,
        )

        return report_spec
