"""The listing of a tenant's workflows: pages of stored documents, newest first, and the
cursor that continues one."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from api.db import Executor


@dataclass(frozen=True)
class Cursor:
    """A position in the newest-first listing: after (created_at, id)."""

    created_at: datetime
    id: UUID

    def encode(self) -> str:
        raw = json.dumps([self.created_at.isoformat(), str(self.id)]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor:
        """Raises ``ValueError`` for anything this API did not hand out."""
        try:
            padded = value + "=" * (-len(value) % 4)
            created_at, workflow_id = json.loads(base64.urlsafe_b64decode(padded))
            if not isinstance(workflow_id, str):  # UUID() raises AttributeError on others
                raise TypeError("workflow id is not a string")
            moment = datetime.fromisoformat(created_at)
            if moment.tzinfo is None:
                raise ValueError("naive timestamp")
            return cls(moment, UUID(workflow_id))
        except (binascii.Error, TypeError, ValueError, UnicodeDecodeError) as exc:
            raise ValueError("invalid cursor") from exc


async def page(
    executor: Executor,
    *,
    tenant: str,
    kind: str | None,
    status: str | None,
    limit: int,
    after: Cursor | None,
) -> tuple[list[str], Cursor | None]:
    """One page of documents, newest first, and the cursor of the next page."""
    conditions = ["tenant = $1"]
    arguments: list[Any] = [tenant]
    if kind is not None:
        arguments.append(kind)
        conditions.append(f"kind = ${len(arguments)}")
    if status is not None:
        arguments.append(status)
        conditions.append(f"status = ${len(arguments)}")
    if after is not None:
        arguments.extend([after.created_at, after.id])
        at, key = len(arguments) - 1, len(arguments)
        conditions.append(f"(created_at < ${at} OR (created_at = ${at} AND id < ${key}))")
    arguments.append(limit + 1)
    rows = await executor.fetch(
        f"SELECT id, created_at, document FROM api.workflows WHERE {' AND '.join(conditions)}"
        f" ORDER BY created_at DESC, id DESC LIMIT ${len(arguments)}",
        *arguments,
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = Cursor(rows[-1]["created_at"], rows[-1]["id"])
    return [row["document"] for row in rows], next_cursor
