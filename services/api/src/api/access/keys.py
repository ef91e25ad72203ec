"""API keys: made once, shown once, stored as a hash, each belonging to one tenant."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from api.tables import api_keys

#: Keys start with this, so a leaked one is recognisable (and secret scanners can match it).
KEY_PREFIX = "swy_"
#: Keys are at most this long; anything longer is not ours and is refused without a lookup.
MAX_KEY_LENGTH = 128
TENANT_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"


@dataclass(frozen=True)
class Caller:
    """The holder of a valid key."""

    key_id: uuid.UUID
    tenant: str


@dataclass(frozen=True)
class KeyRecord:
    id: uuid.UUID
    tenant: str
    name: str | None
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


async def create(
    conn: AsyncConnection, tenant: str, name: str | None = None
) -> tuple[str, KeyRecord]:
    """A new key for ``tenant``: the key itself (never stored) and its record."""
    key = new_key()
    record = KeyRecord(
        id=uuid.uuid4(),
        tenant=tenant,
        name=name,
        prefix=key[: len(KEY_PREFIX) + 6],
        created_at=datetime.now(UTC),
        revoked_at=None,
    )
    await conn.execute(
        insert(api_keys).values(
            id=record.id,
            tenant=tenant,
            name=name,
            prefix=record.prefix,
            key_hash=hash_key(key),
            created_at=record.created_at,
        )
    )
    return key, record


async def listing(conn: AsyncConnection, tenant: str | None = None) -> list[KeyRecord]:
    query = select(
        api_keys.c.id,
        api_keys.c.tenant,
        api_keys.c.name,
        api_keys.c.prefix,
        api_keys.c.created_at,
        api_keys.c.revoked_at,
    ).order_by(api_keys.c.tenant, api_keys.c.created_at)
    if tenant is not None:
        query = query.where(api_keys.c.tenant == tenant)
    return [KeyRecord(**row) for row in (await conn.execute(query)).mappings()]


async def revoke(conn: AsyncConnection, key_id: uuid.UUID) -> bool:
    """Revoke a key at once; ``False`` when there is no such key or it was revoked before."""
    result = await conn.execute(
        update(api_keys)
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    return result.rowcount > 0


async def authenticate(conn: AsyncConnection, key: str) -> Caller | None:
    """The caller holding ``key``, or ``None`` when it is unknown or revoked."""
    if not key.startswith(KEY_PREFIX) or len(key) > MAX_KEY_LENGTH:
        return None
    row = (
        await conn.execute(
            select(api_keys.c.id, api_keys.c.tenant).where(
                api_keys.c.key_hash == hash_key(key), api_keys.c.revoked_at.is_(None)
            )
        )
    ).first()
    return None if row is None else Caller(key_id=row.id, tenant=row.tenant)
