"""Key format and hashing: what is stored can check a key but never give it back."""

from __future__ import annotations

import re

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
