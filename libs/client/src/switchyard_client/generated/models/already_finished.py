from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.workflow_document import WorkflowDocument


T = TypeVar("T", bound="AlreadyFinished")


@_attrs_define
class AlreadyFinished:
    """A cancel of a workflow that had finished (409): why, and its final document.

    Attributes:
        detail (str):
        workflow (WorkflowDocument): The one status document of a workflow, whatever its shape.
    """

    detail: str
    workflow: WorkflowDocument
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        detail = self.detail

        workflow = self.workflow.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "detail": detail,
                "workflow": workflow,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.workflow_document import WorkflowDocument

        d = dict(src_dict)
        detail = d.pop("detail")

        workflow = WorkflowDocument.from_dict(d.pop("workflow"))

        already_finished = cls(
            detail=detail,
            workflow=workflow,
        )

        already_finished.additional_properties = d
        return already_finished

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
