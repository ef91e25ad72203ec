"""Who is calling: the API key of a request, checked before anything else is done for it.

A request with a valid key costs nothing here once its key is cached
(:class:`api.access.keys.KeyCache`). One without (no ``Authorization``, not a bearer
key, a key that is not ours or that no process was told of) is counted against its
client address's unauthenticated budget (``UNAUTHENTICATED_RATE_LIMIT``) before any
database work, and past it answered 429: a flood of made-up keys is refused in memory.
A key created a moment ago whose announcement has not arrived yet is still looked up,
within that budget. The address is the connection's peer (``scope["client"]``); behind
a proxy it is the proxy's, unless the server is told to trust its forwarded headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from api.access import keys
from api.access.ratelimit import RateLimiter

MISSING = "missing API key: send 'Authorization: Bearer <key>'"
INVALID = "invalid or revoked API key"


@dataclass(frozen=True)
class Refusal:
    """An answer instead of the request's own: 401 or 429."""

    status: int
    detail: str
    headers: dict[str, str] = field(default_factory=dict)


def _unauthorized(detail: str) -> Refusal:
    return Refusal(401, detail, {"WWW-Authenticate": "Bearer"})


class Gate:
    """``admit`` answers the caller, or the refusal to send instead."""

    def __init__(
        self, pool: asyncpg.Pool, cache: keys.KeyCache, unauthenticated: RateLimiter
    ) -> None:
        self._pool = pool
        self._cache = cache
        self._unauthenticated = unauthenticated

    def _over_budget(self, address: str | None) -> Refusal | None:
        retry_after = self._unauthenticated.check(address or "unknown")
        if retry_after is None:
            return None
        return Refusal(
            429,
            "too many requests without a valid API key from this address",
            {"Retry-After": str(retry_after)},
        )

    async def admit(self, authorization: str | None, address: str | None) -> keys.Caller | Refusal:
        """The holder of the request's key, or why not (401, or 429 past the
        address's unauthenticated budget)."""
        scheme, _, key = (authorization or "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            return self._over_budget(address) or _unauthorized(MISSING)
        if not keys.plausible(key):
            return self._over_budget(address) or _unauthorized(INVALID)
        key_hash = keys.hash_key(key)
        cached = self._cache.get(key_hash)
        if cached is not None:
            return cached
        if not self._cache.known(key_hash):
            refused = self._over_budget(address)
            if refused is not None:
                return refused
        caller = await keys.verify(self._pool, key_hash, self._cache)
        return caller if caller is not None else _unauthorized(INVALID)


def client_address(scope: Mapping[str, Any]) -> str | None:
    """The peer's address of an ASGI ``scope``."""
    client = scope.get("client")
    return str(client[0]) if client else None
