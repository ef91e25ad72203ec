"""A workflow's steps as typed objects, turned into JSON only where they are stored or
shown: :class:`Planned` (what a step is, and whether it was cancelled) and
:class:`Step` (what it shows, derived from its result row by :mod:`api.workflows.status`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: The fields of a step in the status document, in the document's order.
STEP_FIELDS = (
    "name",
    "task_id",
    "status",
    "attempts",
    "started_at",
    "finished_at",
    "result",
    "error",
    "worker",
    "progress",
)


@dataclass(frozen=True)
class Planned:
    """A step as stored with its workflow: its task, and whether a cancel marked it."""

    name: str
    task_id: str
    cancelled: bool = False
    #: When it was cancelled (RFC 3339, as the document shows it).
    cancelled_at: str | None = None

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> Planned:
        """Read from the workflow's ``steps`` column (a planned step or a stored view)."""
        return cls(
            name=data["name"],
            task_id=data["task_id"],
            cancelled=bool(data.get("cancelled", False)),
            cancelled_at=data.get("cancelled_at"),
        )

    def stored(self) -> dict[str, Any]:
        """As the ``steps`` column holds it: the cancel's marks only once cancelled."""
        marks: dict[str, Any] = (
            {"cancelled": True, "cancelled_at": self.cancelled_at} if self.cancelled else {}
        )
        return {"name": self.name, "task_id": self.task_id, **marks}


@dataclass
class Step:
    """A step as the status document shows it (mutable while it is derived)."""

    name: str
    task_id: str
    status: str = "queued"
    attempts: int = 0
    started_at: str | None = None
    finished_at: str | None = None
    result: Any = None
    error: dict[str, str] | None = None
    worker: str | None = None
    progress: dict[str, int] | None = None
    #: The cancel's marks, kept across updates (never shown).
    cancelled: bool = False
    cancelled_at: str | None = None

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> Step:
        """Read a stored view back (a planned step reads as queued)."""
        known = {name: data[name] for name in STEP_FIELDS if name in data}
        return cls(
            **known,
            cancelled=bool(data.get("cancelled", False)),
            cancelled_at=data.get("cancelled_at"),
        )

    @property
    def planned(self) -> Planned:
        return Planned(self.name, self.task_id, self.cancelled, self.cancelled_at)

    def public(self) -> dict[str, Any]:
        """The step in the status document."""
        return {name: getattr(self, name) for name in STEP_FIELDS}

    def stored(self) -> dict[str, Any]:
        """As the ``steps`` column holds it: the cancel's marks first, then the view."""
        marks: dict[str, Any] = (
            {"cancelled": True, "cancelled_at": self.cancelled_at} if self.cancelled else {}
        )
        return {**marks, **self.public()}
