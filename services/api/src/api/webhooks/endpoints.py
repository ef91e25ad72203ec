"""A tenant's webhook endpoints: registering, listing, deleting (asyncpg, plain SQL).

Each endpoint gets a secret of 32 random bytes in the Standard Webhooks form
(``whsec_<base64>``), shown once, when it is registered. Unlike an API key it is kept as
it is, not hashed: every delivery is signed with it. A tenant holds at most
:data:`MAX_ENDPOINTS`, which bounds what one finished workflow enqueues.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from api.db import Executor, Row

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
MAX_ENDPOINTS = 20

#: The one event there is so far: a workflow reached its final document.
WORKFLOW_FINISHED = "workflow.finished"
EVENTS = (WORKFLOW_FINISHED,)


def new_secret() -> str:
    """A fresh signing secret, ``whsec_`` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


@dataclass(frozen=True)
class Endpoint:
    """A registered endpoint, as listed (no secret)."""

    id: UUID
    url: str
    events: list[str]
    created_at: datetime


_COLUMNS = "id, url, events, created_at"

# One statement: the cap is checked by the insert itself. Two registrations at once may
# both pass it; the cap bounds a tenant's fan-out, it is not an exact quota.
_CREATE = f"""
INSERT INTO api.webhook_endpoints (id, tenant, url, events, secret, created_at)
SELECT $1, $2, $3, $4::text[], $5, now()
WHERE (SELECT count(*) FROM api.webhook_endpoints
       WHERE tenant = $2 AND deleted_at IS NULL) < {MAX_ENDPOINTS}
RETURNING {_COLUMNS}
"""


def _endpoint(row: Row) -> Endpoint:
    return Endpoint(row["id"], row["url"], list(row["events"]), row["created_at"])


async def create(
    executor: Executor, *, tenant: str, url: str, events: Sequence[str]
) -> tuple[Endpoint, str] | None:
    """Register an endpoint; its secret beside it. ``None`` when the tenant holds
    :data:`MAX_ENDPOINTS` already."""
    secret = new_secret()
    row = await executor.fetchrow(_CREATE, uuid4(), tenant, url, list(events), secret)
    return None if row is None else (_endpoint(row), secret)


async def listing(executor: Executor, *, tenant: str) -> list[Endpoint]:
    """The tenant's endpoints, newest first (at most :data:`MAX_ENDPOINTS`)."""
    rows = await executor.fetch(
        f"SELECT {_COLUMNS} FROM api.webhook_endpoints WHERE tenant = $1 AND deleted_at IS NULL"
        " ORDER BY created_at DESC, id DESC",
        tenant,
    )
    return [_endpoint(row) for row in rows]


async def exists(executor: Executor, endpoint_id: UUID, *, tenant: str) -> bool:
    """Whether the tenant has this endpoint (and has not deleted it)."""
    found: bool = await executor.fetchval(
        "SELECT EXISTS (SELECT 1 FROM api.webhook_endpoints"
        " WHERE id = $1 AND tenant = $2 AND deleted_at IS NULL)",
        endpoint_id,
        tenant,
    )
    return found


async def delete(executor: Executor, endpoint_id: UUID, *, tenant: str) -> bool:
    """Delete the tenant's endpoint: it receives nothing more, its pending deliveries
    included (the worker checks at each attempt). ``False`` when there was none."""
    deleted = await executor.fetchval(
        "UPDATE api.webhook_endpoints SET deleted_at = now()"
        " WHERE id = $1 AND tenant = $2 AND deleted_at IS NULL RETURNING id",
        endpoint_id,
        tenant,
    )
    return deleted is not None
