"""The report worker's settings, read from the environment."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field

from switchyard_runtime.settings import WorkerSettings, load_settings


class Settings(WorkerSettings):
    """``AMQP_URL`` and ``DATABASE_URL`` as in every service, ``WORKER_CONCURRENCY`` (prefork
    children) and ``METRICS_PORT`` as in every worker, plus the report worker's own."""

    #: Queues this worker consumes, comma separated.
    report_queues: str = "reports.default"
    #: Rows fetched from the server-side cursor at a time.
    report_batch_rows: int = Field(default=5000, ge=1)
    #: Bytes per stored content chunk.
    report_chunk_bytes: int = Field(default=1024 * 1024, ge=1024)
    #: Least seconds between two progress updates of a running report.
    report_progress_interval: float = Field(default=0.5, ge=0)
    #: Retries when the database is unreachable (first delay doubles each attempt).
    report_max_retries: int = Field(default=5, ge=0)
    report_retry_backoff: float = Field(default=2.0, ge=0)
    report_retry_backoff_max: float = Field(default=60.0, ge=0)


@lru_cache
def get_settings() -> Settings:
    """The process's settings; exits naming the variable when one is missing or bad."""
    return load_settings(Settings)
