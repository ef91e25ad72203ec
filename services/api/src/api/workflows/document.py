"""The status document API consumers poll, and its ETag."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from api.workflows.status import Derived, progress

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


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def public_step(step: Mapping[str, Any]) -> dict[str, Any]:
    """The step as the document shows it (internal bookkeeping left out)."""
    return {name: step.get(name) for name in STEP_FIELDS}


def build(record: Mapping[Any, Any], derived: Derived) -> dict[str, Any]:
    """The status document of a workflow ``record`` in its ``derived`` state."""
    steps = [public_step(step) for step in derived.steps]
    return {
        "id": str(record["id"]),
        "kind": record["kind"],
        "status": derived.status,
        "origin": record["origin"],
        "request_id": record.get("request_id"),
        "created_at": _iso(record["created_at"]),
        "updated_at": _iso(derived.updated_at),
        "finished_at": _iso(derived.finished_at),
        "progress": progress(steps),
        "steps": steps,
        "result": derived.result,
        "error": derived.error,
    }


def etag(document: Mapping[str, Any]) -> str:
    """A strong ETag: changes whenever anything in the document changes."""
    digest = hashlib.sha256(
        json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    return f'"{digest[:32]}"'
