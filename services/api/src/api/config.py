"""The API's settings, read from the environment."""

from __future__ import annotations

import os
from functools import lru_cache

from limits import parse_many
from pydantic import Field, field_validator

from contracts import PlatformSettings, load_settings
from contracts.metrics import MetricsPort

#: ``METRICS_PORT``'s default: the workers' is 9808 where they serve one (compose).
DEFAULT_METRICS_PORT = 9809


class Settings(PlatformSettings):
    """``AMQP_URL`` and ``DATABASE_URL`` as in every service, plus the API's own."""

    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    #: Largest request body accepted; bigger ones get 413.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    #: Where Prometheus scrapes every server process's metrics (added up), apart from
    #: the public port; 0 or empty serves none.
    metrics_port: MetricsPort = DEFAULT_METRICS_PORT
    metrics_host: str = "127.0.0.1"
    #: Server processes (``API_WORKERS``); default: one per core. The relay and the
    #: status work are safe across them (and across replicas).
    api_workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    #: Database connections for requests, per process.
    db_pool_size: int = Field(default=10, ge=1)
    #: Database connections for background work (relay, status updates), per process.
    db_background_pool_size: int = Field(default=3, ge=1)
    #: Calls each API key may make, in the notation of the ``limits`` library
    #: ("100/second", "20/second;1000/minute"); counted per API process.
    rate_limit: str = "100/second"
    #: How long an ``Idempotency-Key`` is remembered (hours; at least a day).
    idempotency_ttl_hours: float = Field(default=24, ge=24)
    #: Log successful reads (GET, HEAD) too, one line each; other requests always are.
    log_reads: bool = False
    #: Seconds the broker has to confirm a batch the relay published.
    relay_confirm_timeout: float = Field(default=10.0, gt=0)
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
