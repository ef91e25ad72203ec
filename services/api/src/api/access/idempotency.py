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
import asyncpg
import structlog

from api.db import Connection

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
    conn: Connection,
    *,
    tenant: str,
    key: str,
    fingerprint: str,
    workflow_id: UUID,
    response: Mapping[str, Any],
    at: datetime,
) -> Replay | None:
    """Record ``key`` for this request; when it was used before, what was answered then."""
    inserted = await conn.fetchval(
        "INSERT INTO api.idempotency_keys (tenant, key, request_hash, workflow_id, response,"
        " created_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6)"
        " ON CONFLICT (tenant, key) DO NOTHING RETURNING key",
        tenant,
        key,
        fingerprint,
        workflow_id,
        json.dumps(dict(response)),
        at,
    )
    if inserted is not None:
        return None
    earlier = await conn.fetchrow(
        "SELECT request_hash, response FROM api.idempotency_keys WHERE tenant = $1 AND key = $2",
        tenant,
        key,
    )
    assert earlier is not None  # it conflicted, and nothing deletes a key that young
    return Replay(
        same_request=earlier["request_hash"] == fingerprint,
        response=json.loads(earlier["response"]),
    )


async def forget_older_than(pool: asyncpg.Pool, keep: timedelta, now: datetime) -> int:
    """Delete keys older than ``keep``; the number deleted."""
    status: str = await pool.execute(
        "DELETE FROM api.idempotency_keys WHERE created_at < $1", now - keep
    )
    return int(status.rsplit(" ", 1)[-1])


async def expire(pool: asyncpg.Pool, keep: timedelta, every: float) -> None:
    """Forget keys older than ``keep``, every ``every`` seconds, until cancelled."""
    while True:
        try:
            forgotten = await forget_older_than(pool, keep, datetime.now(UTC))
            if forgotten:
                log.info("idempotency keys expired", count=forgotten)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            # The database may be away; try again next round.
            log.warning("idempotency key expiry failed", error=repr(error))
        await anyio.sleep(every)
