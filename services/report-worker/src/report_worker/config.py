"""The report worker's settings, read from the environment."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field

from contracts import PlatformSettings, load_settings


class Settings(PlatformSettings):
    """``AMQP_URL`` and ``DATABASE_URL`` as in every service, plus the worker's own."""

    #: Worker processes (prefork children).
    worker_concurrency: int = Field(default=2, ge=1)
    #: Queues this worker consumes, comma separated.
    report_queues: str = "reports.default"


@lru_cache
def get_settings() -> Settings:
    """The process's settings; exits naming the variable when one is missing or bad."""
    return load_settings(Settings)
