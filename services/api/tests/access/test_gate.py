"""The key check: valid keys pass without the database once cached; requests without a
valid key count against their address's budget before any database work."""

from __future__ import annotations

import uuid
from typing import Any

import anyio
import pytest

from api.access import keys
from api.access.gate import Gate, Refusal
from api.access.ratelimit import RateLimiter

KEY = keys.new_key()
KEY_ID = uuid.uuid4()


class Database:
    """Stands in for the pool: answers key lookups from a dict and counts them."""

    def __init__(self, valid: dict[str, str]) -> None:
        self.valid = {keys.hash_key(key): tenant for key, tenant in valid.items()}
        self.lookups = 0

    async def fetchrow(self, _query: str, key_hash: str) -> dict[str, Any] | None:
        self.lookups += 1
        tenant = self.valid.get(key_hash)
        return None if tenant is None else {"id": KEY_ID, "tenant": tenant, "lanes": None}


def gate(database: Database, budget: str = "3/minute") -> tuple[Gate, keys.KeyCache]:
    cache = keys.KeyCache()
    return Gate(database, cache, RateLimiter(budget)), cache  # type: ignore[arg-type]


def admit(the_gate: Gate, authorization: str | None, address: str = "10.0.0.1") -> Any:
    return anyio.run(the_gate.admit, authorization, address)


def test_a_valid_key_is_looked_up_once_then_cached() -> None:
    database = Database({KEY: "acme"})
    the_gate, _ = gate(database)
    for _ in range(5):
        caller = admit(the_gate, f"Bearer {KEY}")
        assert caller == keys.Caller(KEY_ID, "acme")
    assert database.lookups == 1


@pytest.mark.parametrize(
    "authorization", [None, "", "Basic dXNlcjpwYXNz", "Bearer ", "Bearer not-one-of-ours"]
)
def test_no_key_is_401_then_429_past_the_budget_without_the_database(
    authorization: str | None,
) -> None:
    database = Database({})
    the_gate, _ = gate(database)
    answers = [admit(the_gate, authorization) for _ in range(5)]
    assert [a.status for a in answers] == [401, 401, 401, 429, 429]
    assert answers[0].headers == {"WWW-Authenticate": "Bearer"}
    assert int(answers[-1].headers["Retry-After"]) >= 1
    assert database.lookups == 0


def test_unknown_keys_are_looked_up_only_within_the_budget() -> None:
    database = Database({})
    the_gate, _ = gate(database)
    answers = [admit(the_gate, f"Bearer {keys.new_key()}") for _ in range(10)]
    assert [a.status for a in answers] == [401] * 3 + [429] * 7
    assert database.lookups == 3
    assert isinstance(admit(the_gate, None, address="10.0.0.2"), Refusal), "another address"
    assert admit(the_gate, None, address="10.0.0.2").status == 401


def test_a_known_key_passes_while_its_address_floods_made_up_ones() -> None:
    database = Database({KEY: "acme"})
    the_gate, cache = gate(database)
    cache.created(keys.hash_key(KEY))  # announced when it was made
    for _ in range(10):
        admit(the_gate, f"Bearer {keys.new_key()}")
    assert admit(the_gate, f"Bearer {keys.new_key()}").status == 429
    assert admit(the_gate, f"Bearer {KEY}") == keys.Caller(KEY_ID, "acme")


def test_a_revoked_key_is_no_longer_known() -> None:
    database = Database({KEY: "acme"})
    the_gate, cache = gate(database)
    assert isinstance(admit(the_gate, f"Bearer {KEY}"), keys.Caller)
    cache.forget(keys.hash_key(KEY))
    del database.valid[keys.hash_key(KEY)]
    assert not cache.known(keys.hash_key(KEY))
    assert admit(the_gate, f"Bearer {KEY}").status == 401
