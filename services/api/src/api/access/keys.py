"""API keys: made once, shown once, stored as a hash, each belonging to one tenant and
allowed some email lanes (all of them unless made with ``--lanes``).

Each API process caches the keys it has seen for at most :data:`CACHE_SECONDS`, so a
request is authenticated without a database round trip. A revocation reaches every
process at once through PostgreSQL (``switchyard_keys``, sent by the revoking statement
itself) and, should that notification be lost, within a second anyway.

Each process also knows the hash of every valid key (loaded at start and on each
reconnect of its listener, kept current by ``switchyard_keys_created``, sent by the
creating statement): a key that is not among them is looked up only within the
unauthenticated budget of its client's address (:mod:`api.access.gate`), so a flood of
made-up keys costs the database nothing.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio

from api.db import Connection, Executor

#: Keys start with this, so a leaked one is recognisable (and secret scanners can match it).
KEY_PREFIX = "swy_"
#: Keys are at most this long; anything longer is not ours and is refused without a lookup.
MAX_KEY_LENGTH = 128
TENANT_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
#: The longest a cached key is trusted without asking the database again.
CACHE_SECONDS = 1.0
#: The channel a revocation is announced on (payload: the key's hash).
REVOKED_CHANNEL = "switchyard_keys"
#: The channel a new key is announced on (payload: its hash).
CREATED_CHANNEL = "switchyard_keys_created"


@dataclass(frozen=True)
class Caller:
    """The holder of a valid key."""

    key_id: uuid.UUID
    tenant: str
    #: The email lanes the key may send in; ``None``: every lane.
    lanes: frozenset[str] | None = None

    def may_use(self, lane: str) -> bool:
        """Whether the key may send email in ``lane``."""
        return self.lanes is None or lane in self.lanes


@dataclass(frozen=True)
class KeyRecord:
    id: uuid.UUID
    tenant: str
    name: str | None
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    #: ``None``: every lane (keys made before lanes existed, or without ``--lanes``).
    lanes: list[str] | None = None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


async def create(
    conn: Executor,
    tenant: str,
    name: str | None = None,
    lanes: Sequence[str] | None = None,
) -> tuple[str, KeyRecord]:
    """A new key for ``tenant``: the key itself (never stored) and its record.

    ``lanes`` are the email lanes it may send in (``None``: every lane).
    """
    key = new_key()
    record = KeyRecord(
        id=uuid.uuid4(),
        tenant=tenant,
        name=name,
        prefix=key[: len(KEY_PREFIX) + 6],
        created_at=datetime.now(UTC),
        revoked_at=None,
        lanes=None if lanes is None else list(lanes),
    )
    await conn.execute(
        "INSERT INTO api.api_keys (id, tenant, name, prefix, key_hash, created_at, lanes)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)"
        f" RETURNING pg_notify('{CREATED_CHANNEL}', key_hash)",
        record.id,
        tenant,
        name,
        record.prefix,
        hash_key(key),
        record.created_at,
        record.lanes,
    )
    return key, record


async def listing(conn: Executor, tenant: str | None = None) -> list[KeyRecord]:
    query = "SELECT id, tenant, name, prefix, created_at, revoked_at, lanes FROM api.api_keys"
    rows = await (
        conn.fetch(query + " WHERE tenant = $1 ORDER BY tenant, created_at", tenant)
        if tenant is not None
        else conn.fetch(query + " ORDER BY tenant, created_at")
    )
    return [KeyRecord(**dict(row.items())) for row in rows]


async def revoke(conn: Connection, key_id: uuid.UUID) -> bool:
    """Revoke a key at once; ``False`` when there is no such key or it was revoked before.

    The same statement tells every API process to drop the key from its cache.
    """
    revoked = await conn.fetchrow(
        "UPDATE api.api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL"
        f" RETURNING id, pg_notify('{REVOKED_CHANNEL}', key_hash)",
        key_id,
        datetime.now(UTC),
    )
    return revoked is not None


async def lookup(conn: Executor, key_hash: str) -> Caller | None:
    row = await conn.fetchrow(
        "SELECT id, tenant, lanes FROM api.api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        key_hash,
    )
    if row is None:
        return None
    lanes = row["lanes"]
    return Caller(
        key_id=row["id"], tenant=row["tenant"], lanes=None if lanes is None else frozenset(lanes)
    )


def plausible(key: str) -> bool:
    """Whether ``key`` could be one of ours (anything else is refused without a lookup)."""
    return key.startswith(KEY_PREFIX) and len(key) <= MAX_KEY_LENGTH


async def valid_hashes(conn: Executor) -> set[str]:
    """The hash of every key that is not revoked."""
    rows = await conn.fetch("SELECT key_hash FROM api.api_keys WHERE revoked_at IS NULL")
    return {row["key_hash"] for row in rows}


class KeyCache:
    """Valid keys seen lately, by hash, each trusted for at most ``seconds``; and the
    hashes of all valid keys (:meth:`known`), once loaded."""

    def __init__(self, seconds: float = CACHE_SECONDS) -> None:
        self._seconds = seconds
        self._entries: dict[str, tuple[Caller, float]] = {}
        self._known: set[str] = set()
        #: Announced since the last load began (a load's snapshot may predate them).
        self._fresh: set[str] = set()
        self._stale = True
        self._wake: anyio.Event | None = None

    def known(self, key_hash: str) -> bool:
        """Whether ``key_hash`` is a valid key's, as far as this process was told."""
        return key_hash in self._known

    def created(self, key_hash: str) -> None:
        """``key_hash``'s key is valid (announced, or found so). Only which callers count
        against their address's budget depends on it: a key is still checked with the
        database before it is trusted."""
        self._known.add(key_hash)
        self._fresh.add(key_hash)

    def reload(self) -> None:
        """Ask :meth:`keep_loaded` to read every valid key's hash again (after a
        reconnect, when announcements may have been missed)."""
        self._stale = True
        if self._wake is not None:
            self._wake.set()

    async def keep_loaded(self, conn: Executor) -> None:
        """Load the valid hashes now and each time :meth:`reload` asks (background)."""
        while True:
            self._wake = anyio.Event()
            if not self._stale:
                await self._wake.wait()
            self._stale = False
            self._fresh.clear()
            try:
                hashes = await valid_hashes(conn)
            except BaseException:
                self._stale = True
                raise
            self._known = hashes | self._fresh

    def get(self, key_hash: str) -> Caller | None:
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        caller, expires = entry
        if time.monotonic() >= expires:
            del self._entries[key_hash]
            return None
        return caller

    def put(self, key_hash: str, caller: Caller) -> None:
        self._entries[key_hash] = (caller, time.monotonic() + self._seconds)

    def forget(self, key_hash: str) -> None:
        """``key_hash``'s key was revoked."""
        self._entries.pop(key_hash, None)
        self._known.discard(key_hash)
        self._fresh.discard(key_hash)

    def clear(self) -> None:
        self._entries.clear()


async def authenticate(conn: Executor, key: str, cache: KeyCache | None = None) -> Caller | None:
    """The caller holding ``key``, or ``None`` when it is unknown or revoked."""
    if not plausible(key):
        return None
    key_hash = hash_key(key)
    if cache is not None:
        cached = cache.get(key_hash)
        if cached is not None:
            return cached
    return await verify(conn, key_hash, cache)


async def verify(conn: Executor, key_hash: str, cache: KeyCache | None = None) -> Caller | None:
    """Ask the database for ``key_hash``'s key (and remember the answer in ``cache``)."""
    caller = await lookup(conn, key_hash)
    if cache is not None:
        if caller is not None:
            cache.put(key_hash, caller)
            cache.created(key_hash)
        else:
            cache.forget(key_hash)
    return caller
