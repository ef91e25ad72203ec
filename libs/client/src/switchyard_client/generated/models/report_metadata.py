from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.report_metadata_period import ReportMetadataPeriod


T = TypeVar("T", bound="ReportMetadata")


@_attrs_define
class ReportMetadata:
    """A stored report (``GET /v1/reports/{id}``); its bytes are at ``content_url``.

    Attributes:
        id (str):
        kind (str):
        format_ (str):
        period (ReportMetadataPeriod):
        content_type (str):
        filename (str):
        bytes_ (int):
        rows (int):
        sha256 (str):
        created_at (datetime.datetime):
        content_url (str):
    """

    id: str
    kind: str
    format_: str
    period: ReportMetadataPeriod
    content_type: str
    filename: str
    bytes_: int
    rows: int
    sha256: str
    created_at: datetime.datetime
    content_url: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        kind = self.kind

        format_ = self.format_

        period = self.period.to_dict()

        content_type = self.content_type

        filename = self.filename

        bytes_ = self.bytes_

        rows = self.rows

        sha256 = self.sha256

        created_at = self.created_at.isoformat()

        content_url = self.content_url

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "kind": kind,
                "format": format_,
                "period": period,
                "content_type": content_type,
                "filename": filename,
                "bytes": bytes_,
                "rows": rows,
                "sha256": sha256,
                "created_at": created_at,
                "content_url": content_url,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.report_metadata_period import ReportMetadataPeriod

        d = dict(src_dict)
        id = d.pop("id")

        kind = d.pop("kind")

        format_ = d.pop("format")

        period = ReportMetadataPeriod.from_dict(d.pop("period"))

        content_type = d.pop("content_type")

        filename = d.pop("filename")

        bytes_ = d.pop("bytes")

        rows = d.pop("rows")

        sha256 = d.pop("sha256")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        content_url = d.pop("content_url")

        report_metadata = cls(
            id=id,
            kind=kind,
            format_=format_,
            period=period,
            content_type=content_type,
            filename=filename,
            bytes_=bytes_,
            rows=rows,
            sha256=sha256,
            created_at=created_at,
            content_url=content_url,
        )

        report_metadata.additional_properties = d
        return report_metadata

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
