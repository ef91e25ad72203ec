from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.workflow_document_status import WorkflowDocumentStatus

if TYPE_CHECKING:
    from ..models.progress import Progress
    from ..models.step import Step
    from ..models.step_error import StepError


T = TypeVar("T", bound="WorkflowDocument")


@_attrs_define
class WorkflowDocument:
    """The one status document of a workflow, whatever its shape.

    Attributes:
        id (str):
        kind (str):
        status (WorkflowDocumentStatus):
        origin (str):
        request_id (None | str): the X-Request-ID of the request that started it: grep the logs for it
        created_at (datetime.datetime):
        updated_at (datetime.datetime):
        finished_at (datetime.datetime | None):
        progress (Progress):
        steps (list[Step]):
        result (Any):
        error (None | StepError):
    """

    id: str
    kind: str
    status: WorkflowDocumentStatus
    origin: str
    request_id: str | None
    created_at: datetime.datetime
    updated_at: datetime.datetime
    finished_at: datetime.datetime | None
    progress: Progress
    steps: list[Step]
    result: Any
    error: StepError | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.step_error import StepError

        id = self.id

        kind = self.kind

        status = self.status.value

        origin = self.origin

        request_id: str | None
        request_id = self.request_id

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        finished_at: str | None
        if isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        progress = self.progress.to_dict()

        steps = []
        for steps_item_data in self.steps:
            steps_item = steps_item_data.to_dict()
            steps.append(steps_item)

        result = self.result

        error: dict[str, Any] | None
        error = self.error.to_dict() if isinstance(self.error, StepError) else self.error

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "kind": kind,
                "status": status,
                "origin": origin,
                "request_id": request_id,
                "created_at": created_at,
                "updated_at": updated_at,
                "finished_at": finished_at,
                "progress": progress,
                "steps": steps,
                "result": result,
                "error": error,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.progress import Progress
        from ..models.step import Step
        from ..models.step_error import StepError

        d = dict(src_dict)
        id = d.pop("id")

        kind = d.pop("kind")

        status = WorkflowDocumentStatus(d.pop("status"))

        origin = d.pop("origin")

        def _parse_request_id(data: object) -> str | None:
            if data is None:
                return data
            return cast(str | None, data)

        request_id = _parse_request_id(d.pop("request_id"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        def _parse_finished_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                finished_at_type_0 = datetime.datetime.fromisoformat(data)

                return finished_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        finished_at = _parse_finished_at(d.pop("finished_at"))

        progress = Progress.from_dict(d.pop("progress"))

        steps = []
        _steps = d.pop("steps")
        for steps_item_data in _steps:
            steps_item = Step.from_dict(steps_item_data)

            steps.append(steps_item)

        result = d.pop("result")

        def _parse_error(data: object) -> StepError | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                error_type_0 = StepError.from_dict(data)

                return error_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(StepError | None, data)

        error = _parse_error(d.pop("error"))

        workflow_document = cls(
            id=id,
            kind=kind,
            status=status,
            origin=origin,
            request_id=request_id,
            created_at=created_at,
            updated_at=updated_at,
            finished_at=finished_at,
            progress=progress,
            steps=steps,
            result=result,
            error=error,
        )

        workflow_document.additional_properties = d
        return workflow_document

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
