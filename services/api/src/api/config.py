"""The API's settings, read from the environment."""

from __future__ import annotations

from functools import lru_cache

from limits import parse_many
from pydantic import Field, field_validator

from contracts import PlatformSettings, load_settings


class Settings(PlatformSettings):
    """``AMQP_URL`` and ``DATABASE_URL`` as in every service, plus the API's own."""

    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    #: Largest request body accepted; bigger ones get 413.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    #: Database connections the API keeps open (per process).
    db_pool_size: int = Field(default=10, ge=1)
    #: How often the tracker copies step states from Celery's result table (seconds).
    tracker_interval: float = Field(default=0.5, gt=0)
    #: Calls each API key may make, in the notation of the ``limits`` library
    #: ("100/second", "20/second;1000/minute"); counted per API process.
    rate_limit: str = "100/second"
    #: How long an ``Idempotency-Key`` is remembered (hours; at least a day).
    idempotency_ttl_hours: float = Field(default=24, ge=24)
    #: How often the relay looks for outbox entries nobody told it about (seconds).
    relay_interval: float = Field(default=1.0, gt=0)
    #: Processes of the intake worker (``api intake``), as ``WORKER_CONCURRENCY`` of workers.
    worker_concurrency: int = Field(default=2, ge=1)

    @field_validator("rate_limit")
    @classmethod
    def _parses(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError as error:
            raise ValueError(f"not a rate limit like '100/second': {error}") from None
        return value


@lru_cache
def get_settings() -> Settings:
    """The process's settings; exits naming the variable when one is missing or bad."""
    return load_settings(Settings)
