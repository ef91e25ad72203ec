"""Key format, hashing and caching: what is stored can check a key but never give it
back, and a cached key is trusted for a second at most."""

from __future__ import annotations

import re
import uuid

import anyio
import pytest

from api.access import keys


def test_new_keys_are_long_random_and_recognisable() -> None:
    made = {keys.new_key() for _ in range(100)}
    assert len(made) == 100
    for key in made:
        assert key.startswith(keys.KEY_PREFIX)
        assert 40 <= len(key) <= keys.MAX_KEY_LENGTH
        assert re.fullmatch(r"swy_[A-Za-z0-9_-]+", key)


def test_the_hash_identifies_a_key_without_containing_it() -> None:
    key = keys.new_key()
    digest = keys.hash_key(key)
    assert digest == keys.hash_key(key)
    assert digest != keys.hash_key(key + "x")
    assert key not in digest and len(digest) == 64


def test_tenant_names_are_plain() -> None:
    for good in ("acme", "system", "team-42", "a_b"):
        assert re.fullmatch(keys.TENANT_PATTERN, good)
    for bad in ("", "Acme", "-x", "a b", "x" * 64, "ü"):
        assert not re.fullmatch(keys.TENANT_PATTERN, bad)


def test_a_cached_key_is_trusted_for_a_second_at_most(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr("api.access.keys.time.monotonic", lambda: clock[0])
    cache = keys.KeyCache()
    caller = keys.Caller(key_id=uuid.uuid4(), tenant="acme")
    cache.put("hash", caller)

    clock[0] += 0.99
    assert cache.get("hash") == caller
    clock[0] += 0.02
    assert cache.get("hash") is None, "a revocation takes effect within a second"


def test_a_revoked_or_reconnected_cache_forgets() -> None:
    cache = keys.KeyCache()
    caller = keys.Caller(key_id=uuid.uuid4(), tenant="acme")
    cache.put("one", caller)
    cache.put("two", caller)
    cache.forget("one")
    assert cache.get("one") is None and cache.get("two") == caller
    cache.clear()
    assert cache.get("two") is None


def test_a_key_that_cannot_be_ours_is_refused_without_a_lookup() -> None:
    class NoDatabase:
        async def fetchrow(self, *args: object) -> None:
            raise AssertionError("looked up")

    async def check(key: str) -> keys.Caller | None:
        return await keys.authenticate(NoDatabase(), key)  # type: ignore[arg-type]

    assert anyio.run(check, "not-a-key") is None
    assert anyio.run(check, keys.KEY_PREFIX + "x" * 200) is None


def test_a_key_without_lanes_may_use_every_lane_and_one_with_lanes_only_those() -> None:
    every = keys.Caller(key_id=uuid.uuid4(), tenant="acme")
    assert every.may_use("transactional") and every.may_use("bulk")
    bulk_only = keys.Caller(key_id=uuid.uuid4(), tenant="acme", lanes=frozenset({"bulk"}))
    assert bulk_only.may_use("bulk")
    assert not bulk_only.may_use("transactional")
