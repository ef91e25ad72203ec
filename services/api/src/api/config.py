"""The API's settings, read from the environment."""

from __future__ import annotations

import os
from datetime import timedelta
from functools import lru_cache

from limits import parse_many
from pydantic import Field, field_validator

from contracts import WorkflowKind
from switchyard_runtime.metrics import MetricsPort
from switchyard_runtime.settings import PlatformSettings, load_settings

HOUR = 3600.0
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
    #: Seconds a request waits for one of its pool's connections before it is answered
    #: 503 with ``Retry-After`` (at most 2).
    db_acquire_timeout: float = Field(default=2.0, gt=0, le=2.0)
    #: Calls each API key may make, in the notation of the ``limits`` library
    #: ("100/second", "20/second;1000/minute"); counted per API process.
    rate_limit: str = "100/second"
    #: Calls per client address without a valid key (missing, malformed or unknown), in
    #: the same notation, checked before any database work; counted per API process.
    unauthenticated_rate_limit: str = "50/second;1000/minute"
    #: Long polls one key may hold at once in this API (all its server processes); past
    #: it 429 with ``Retry-After``.
    long_polls_per_key: int = Field(default=100, ge=1)
    #: Each tenant's default quotas (``api quotas set`` gives one its own): recipients
    #: (to, cc and bcc of every email step) per UTC day, and reports per clock hour,
    #: counted in PostgreSQL across every API process; past one, 429.
    quota_recipients_per_day: int = Field(default=10_000, ge=0)
    quota_reports_per_hour: int = Field(default=100, ge=0)
    #: How long an ``Idempotency-Key`` is remembered (hours; at least a day).
    idempotency_ttl_hours: float = Field(default=24, ge=24)
    #: Log successful reads (GET, HEAD) too, one line each; other requests always are.
    log_reads: bool = False
    #: Seconds the broker has to confirm a batch the relay published.
    relay_confirm_timeout: float = Field(default=10.0, gt=0)
    #: Times the broker may refuse one outbox message before it is moved aside
    #: (``api.outbox_dead``) and its workflow fails with the broker's reason. With the
    #: backoff below, 9 to 18 minutes of refusals: a quorum queue without its majority
    #: (two of three cluster nodes down) nacks every publish, and an outage that short
    #: must fail nothing.
    outbox_max_attempts: int = Field(default=12, ge=1)
    #: Seconds a refused message waits before its second attempt, doubling with each
    #: refusal up to ``outbox_retry_backoff_max`` (jittered); the rows behind it go on.
    outbox_retry_backoff: float = Field(default=1.0, gt=0)
    outbox_retry_backoff_max: float = Field(default=300.0, gt=0)
    #: ``/readyz`` answers 503 once a message due for publishing has waited this long.
    outbox_max_age: float = Field(default=30.0, gt=0)
    #: Processes of the intake worker (``api intake``), as ``WORKER_CONCURRENCY`` of workers.
    worker_concurrency: int = Field(default=2, ge=1)
    #: Seconds a workflow of each kind has to finish, from its acceptance; past it, it
    #: fails with ``DeadlineExceeded`` and its unfinished steps are revoked.
    deadline_email: float = Field(default=1 * HOUR, ge=1)
    deadline_report: float = Field(default=6 * HOUR, ge=1)
    deadline_report_batch: float = Field(default=6 * HOUR, ge=1)
    #: Let webhook URLs reach loopback, private, link-local and other non-public
    #: addresses (development and tests only: it opens the API to SSRF).
    webhook_allow_private: bool = False
    #: Seconds one webhook attempt may take (connect, send, the answer's status line).
    webhook_timeout: float = Field(default=10.0, gt=0, le=60)
    #: Seconds before a failed delivery's second attempt, doubling with each failure up
    #: to ``webhook_retry_max`` (a random half taken off).
    webhook_retry_base: float = Field(default=5.0, gt=0)
    webhook_retry_max: float = Field(default=HOUR, gt=0)
    #: Seconds after its first attempt that a failing delivery is retried, then given up.
    webhook_retry_for: float = Field(default=24 * HOUR, ge=1)

    def deadline_of(self, kind: str) -> timedelta:
        """How long a workflow of ``kind`` may take (``ValueError`` for an unknown kind)."""
        seconds = {
            WorkflowKind.EMAIL: self.deadline_email,
            WorkflowKind.REPORT: self.deadline_report,
            WorkflowKind.REPORT_BATCH: self.deadline_report_batch,
        }[WorkflowKind(kind)]
        return timedelta(seconds=seconds)

    @property
    def shortest_deadline(self) -> timedelta:
        """The shortest deadline of any kind: no workflow accepted from now on is due
        sooner than that from now."""
        return min(self.deadline_of(kind) for kind in WorkflowKind)

    @field_validator("rate_limit", "unauthenticated_rate_limit")
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
