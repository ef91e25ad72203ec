"""The email worker's settings, read from the environment."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr

from contracts import PlatformSettings, load_settings
from contracts.metrics import MetricsPort


class Settings(PlatformSettings):
    """``AMQP_URL`` and ``DATABASE_URL`` as in every service, plus SMTP and the worker's own."""

    smtp_host: str = "localhost"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_from: str = "Switchyard <noreply@switchyard.localhost>"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout: float = Field(default=10.0, gt=0)
    #: Tasks run at once. Sending mail is waiting (on SMTP and the database), so the
    #: default pool is threads in one process: no pipe between processes per task, one
    #: SMTP session and one pooled connection per thread.
    worker_concurrency: int = Field(default=8, ge=1)
    #: Celery's execution pool: ``threads`` (default) or ``prefork``.
    worker_pool: Literal["threads", "prefork"] = "threads"
    #: Port of the worker's Prometheus endpoint (0 or empty: none), and its address.
    metrics_port: MetricsPort = 0
    metrics_host: str = "127.0.0.1"
    #: Queues this worker consumes, comma separated (default: both lanes).
    email_queues: str = "email.transactional,email.bulk"
    #: First retry delay in seconds; doubles each attempt, with full jitter.
    email_retry_backoff: float = Field(default=2.0, ge=0)
    email_retry_backoff_max: float = Field(default=300.0, ge=0)
    email_max_retries: int = Field(default=8, ge=0)
    #: Largest total size of attachments in one email.
    email_max_attachment_bytes: int = Field(default=10 * 1024 * 1024, ge=0)


@lru_cache
def get_settings() -> Settings:
    """The process's settings; exits naming the variable when one is missing or bad."""
    return load_settings(Settings)
