from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="Accepted")


@_attrs_define
class Accepted:
    """The answer to an accepted submission (202).

    Attributes:
        workflow_id (str):
        status_url (str):
        report_ids (list[str] | None | Unset): ids of the reports the workflow will store (report workflows)
    """

    workflow_id: str
    status_url: str
    report_ids: list[str] | Unset | None = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        workflow_id = self.workflow_id

        status_url = self.status_url

        report_ids: list[str] | Unset | None
        if isinstance(self.report_ids, Unset):
            report_ids = UNSET
        elif isinstance(self.report_ids, list):
            report_ids = self.report_ids

        else:
            report_ids = self.report_ids

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "workflow_id": workflow_id,
                "status_url": status_url,
            }
        )
        if report_ids is not UNSET:
            field_dict["report_ids"] = report_ids

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        workflow_id = d.pop("workflow_id")

        status_url = d.pop("status_url")

        def _parse_report_ids(data: object) -> list[str] | Unset | None:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                report_ids_type_0 = cast(list[str], data)

                return report_ids_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | Unset | None, data)

        report_ids = _parse_report_ids(d.pop("report_ids", UNSET))

        accepted = cls(
            workflow_id=workflow_id,
            status_url=status_url,
            report_ids=report_ids,
        )

        accepted.additional_properties = d
        return accepted

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
