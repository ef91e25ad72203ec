"""The status document API consumers read, as it is stored and served, and its ETag.

The document is rendered once per change (by whoever changed it: the submission, the
status updater, a cancel) and stored as JSON text; reads serve that text unchanged. Its
ETag is a hash of that text, so equal documents have equal tags.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from api.db import Row
from api.workflows.status import Derived, initial_state, progress

if TYPE_CHECKING:
    from api.workflows.plans import Plan


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def build(record: Row, derived: Derived) -> dict[str, Any]:
    """The status document of a workflow ``record`` in its ``derived`` state."""
    return {
        "id": str(record["id"]),
        "kind": record["kind"],
        "status": derived.status,
        "origin": record["origin"],
        "request_id": record.get("request_id"),
        "created_at": _iso(record["created_at"]),
        "updated_at": _iso(derived.updated_at),
        "finished_at": _iso(derived.finished_at),
        "progress": progress(derived.steps),
        "steps": [step.public() for step in derived.steps],
        "result": derived.result,
        "error": derived.error,
    }


def initial(
    plan: Plan, *, created_at: datetime, origin: str, request_id: str | None
) -> dict[str, Any]:
    """The document of a workflow just accepted: every step queued."""
    record = {
        "id": plan.workflow_id,
        "kind": plan.kind,
        "origin": origin,
        "request_id": request_id,
        "created_at": created_at,
    }
    return build(record, initial_state(plan.steps, created_at))


def serialize(document: Mapping[str, Any]) -> str:
    """The document as stored and served: compact JSON, keys in the document's order."""
    return json.dumps(document, separators=(",", ":"))


def etag_of(text: str) -> str:
    """A strong ETag of a serialized document: it changes whenever the text does."""
    return f'"{hashlib.sha256(text.encode()).hexdigest()[:32]}"'


def etag(document: Mapping[str, Any]) -> str:
    """The ETag of ``document`` as :func:`serialize` writes it."""
    return etag_of(serialize(document))
