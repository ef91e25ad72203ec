from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.step_status import StepStatus

if TYPE_CHECKING:
    from ..models.progress import Progress
    from ..models.step_error import StepError


T = TypeVar("T", bound="Step")


@_attrs_define
class Step:
    """
    Attributes:
        name (str):
        task_id (str):
        status (StepStatus):
        attempts (int):
        started_at (datetime.datetime | None):
        finished_at (datetime.datetime | None):
        result (Any):
        error (None | StepError):
        worker (None | str):
        progress (None | Progress):
    """

    name: str
    task_id: str
    status: StepStatus
    attempts: int
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    result: Any
    error: StepError | None
    worker: str | None
    progress: Progress | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.progress import Progress
        from ..models.step_error import StepError

        name = self.name

        task_id = self.task_id

        status = self.status.value

        attempts = self.attempts

        started_at: str | None
        if isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        finished_at: str | None
        if isinstance(self.finished_at, datetime.datetime):
            finished_at = self.finished_at.isoformat()
        else:
            finished_at = self.finished_at

        result = self.result

        error: dict[str, Any] | None
        error = self.error.to_dict() if isinstance(self.error, StepError) else self.error

        worker: str | None
        worker = self.worker

        progress: dict[str, Any] | None
        progress = self.progress.to_dict() if isinstance(self.progress, Progress) else self.progress

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "task_id": task_id,
                "status": status,
                "attempts": attempts,
                "started_at": started_at,
                "finished_at": finished_at,
                "result": result,
                "error": error,
                "worker": worker,
                "progress": progress,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.progress import Progress
        from ..models.step_error import StepError

        d = dict(src_dict)
        name = d.pop("name")

        task_id = d.pop("task_id")

        status = StepStatus(d.pop("status"))

        attempts = d.pop("attempts")

        def _parse_started_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)

                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        started_at = _parse_started_at(d.pop("started_at"))

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

        def _parse_worker(data: object) -> str | None:
            if data is None:
                return data
            return cast(str | None, data)

        worker = _parse_worker(d.pop("worker"))

        def _parse_progress(data: object) -> Progress | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                progress_type_0 = Progress.from_dict(data)

                return progress_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Progress | None, data)

        progress = _parse_progress(d.pop("progress"))

        step = cls(
            name=name,
            task_id=task_id,
            status=status,
            attempts=attempts,
            started_at=started_at,
            finished_at=finished_at,
            result=result,
            error=error,
            worker=worker,
            progress=progress,
        )

        step.additional_properties = d
        return step

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
