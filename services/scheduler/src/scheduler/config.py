"""The scheduler's settings, read from the environment."""

from __future__ import annotations

from functools import lru_cache

from contracts import PlatformSettings, load_settings


class Settings(PlatformSettings):
    """``AMQP_URL`` and ``DATABASE_URL`` as in every service."""


@lru_cache
def get_settings() -> Settings:
    """The process's settings; exits naming the variable when one is missing or bad."""
    return load_settings(Settings)
