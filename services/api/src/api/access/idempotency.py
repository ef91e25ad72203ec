"""``Idempotency-Key``: the same key and body answer the first submission again.

The key is claimed in the transaction that stores the workflow, so two concurrent
requests with one key cannot both create a workflow: the second waits on the first's
row, then finds it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import anyio
import structlog
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from api.tables import idempotency_keys

MAX_KEY_LENGTH = 255

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Replay:
    """What an earlier request with the same key was answered."""

    same_request: bool
    response: dict[str, Any]


def request_hash(path: str, body: Mapping[str, Any]) -> str:
    """The same for the same endpoint and the same (parsed) body, whatever its spacing."""
    canonical = json.dumps({"path": path, "body": body}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def claim(
    conn: AsyncConnection,
    *,
    tenant: str,
    key: str,
    fingerprint: str,
    workflow_id: UUID,
    response: Mapping[str, Any],
    at: datetime,
) -> Replay | None:
    """Record ``key`` for this request; when it was used before, what was answered then."""
    inserted = await conn.execute(
        insert(idempotency_keys)
        .values(
            tenant=tenant,
            key=key,
            request_hash=fingerprint,
            workflow_id=workflow_id,
            response=dict(response),
            created_at=at,
        )
        .on_conflict_do_nothing(index_elements=["tenant", "key"])
        .returning(idempotency_keys.c.key)
    )
    if inserted.first() is not None:
        return None
    earlier = (
        await conn.execute(
            select(idempotency_keys.c.request_hash, idempotency_keys.c.response).where(
                idempotency_keys.c.tenant == tenant, idempotency_keys.c.key == key
            )
        )
    ).one()
    return Replay(same_request=earlier.request_hash == fingerprint, response=earlier.response)


async def forget_older_than(conn: AsyncConnection, keep: timedelta, now: datetime) -> int:
    """Delete keys older than ``keep``; the number deleted."""
    result = await conn.execute(
        delete(idempotency_keys).where(idempotency_keys.c.created_at < now - keep)
    )
    return result.rowcount


async def expire(engine: AsyncEngine, keep: timedelta, every: float) -> None:
    """Forget keys older than ``keep``, every ``every`` seconds, until cancelled."""
    while True:
        try:
            async with engine.begin() as conn:
                forgotten = await forget_older_than(conn, keep, datetime.now(UTC))
            if forgotten:
                log.info("idempotency keys expired", count=forgotten)
        except Exception as error:  # the database may be away; try again next round
            log.warning("idempotency key expiry failed", error=repr(error))
        await anyio.sleep(every)
