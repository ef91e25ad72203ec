"""Small conversions every workflow store shares: the clock, JSON text, ids."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID


def now() -> datetime:
    return datetime.now(UTC)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def loads(value: str | None) -> Any:
    return None if value is None else json.loads(value)


def parse_id(value: str) -> UUID | None:
    """The UUID in ``value``, or ``None`` when it is not one (that id cannot exist)."""
    try:
        return UUID(value)
    except ValueError:
        return None
