from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.report_spec import ReportSpec


T = TypeVar("T", bound="ReportBatchRequest")


@_attrs_define
class ReportBatchRequest:
    """``POST /v1/report-batches``: reports in parallel, or with ``deliver_to`` a chord
    that emails one digest carrying all of them once every report succeeded.

        Attributes:
            reports (list[ReportSpec]):
            deliver_to (list[str] | None | Unset):
    """

    reports: list[ReportSpec]
    deliver_to: list[str] | Unset | None = UNSET

    def to_dict(self) -> dict[str, Any]:
        reports = []
        for reports_item_data in self.reports:
            reports_item = reports_item_data.to_dict()
            reports.append(reports_item)

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
                "reports": reports,
            }
        )
        if deliver_to is not UNSET:
            field_dict["deliver_to"] = deliver_to

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.report_spec import ReportSpec

        d = dict(src_dict)
        reports = []
        _reports = d.pop("reports")
        for reports_item_data in _reports:
            reports_item = ReportSpec.from_dict(reports_item_data)

            reports.append(reports_item)

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

        report_batch_request = cls(
            reports=reports,
            deliver_to=deliver_to,
        )

        return report_batch_request
