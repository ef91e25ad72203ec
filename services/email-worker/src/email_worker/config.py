"""The email worker's settings, read from the environment."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, FilePath, SecretStr, ValidationInfo, field_validator

from switchyard_runtime.settings import WorkerSettings, load_settings


class Settings(WorkerSettings):
    """``AMQP_URL`` and ``DATABASE_URL`` as in every service, plus SMTP and the worker's own."""

    smtp_host: str = "localhost"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_from: str = "Switchyard <noreply@switchyard.localhost>"
    #: How the session is encrypted: ``none``, ``starttls`` (a plain connection upgraded
    #: before anything else is said, usually port 587) or ``implicit`` (TLS from the
    #: first byte, usually port 465). The server's certificate is always verified.
    smtp_tls: Literal["none", "starttls", "implicit"] = "none"
    #: PEM file of the CAs to trust for the server's certificate instead of the system's.
    smtp_ca_file: FilePath | None = None
    #: Credentials travel only over TLS: a username with ``SMTP_TLS=none`` is refused.
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    #: Replaced by ``SMTP_TLS``; refused when set, so no deployment loses STARTTLS unseen.
    smtp_starttls: str | None = None
    smtp_timeout: float = Field(default=10.0, gt=0)
    #: Tasks run at once. Sending mail is waiting (on SMTP and the database), so the
    #: default pool is threads in one process: no pipe between processes per task, one
    #: SMTP session and one pooled connection per thread.
    worker_concurrency: int = Field(default=8, ge=1)
    #: Celery's execution pool: ``threads`` (default) or ``prefork``.
    worker_pool: Literal["threads", "prefork"] = "threads"
    #: Queues this worker consumes, comma separated (default: both lanes).
    email_queues: str = "email.transactional,email.bulk"
    #: First retry delay in seconds; doubles each attempt, with full jitter.
    email_retry_backoff: float = Field(default=2.0, ge=0)
    email_retry_backoff_max: float = Field(default=300.0, ge=0)
    email_max_retries: int = Field(default=8, ge=0)
    #: Largest total size of attachments in one email.
    email_max_attachment_bytes: int = Field(default=10 * 1024 * 1024, ge=0)

    @field_validator("smtp_username")
    @classmethod
    def _credentials_over_tls_only(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value and info.data.get("smtp_tls") == "none":
            raise ValueError(
                "credentials are never sent in clear: "
                "set SMTP_TLS=starttls or SMTP_TLS=implicit, or unset SMTP_USERNAME"
            )
        return value

    @field_validator("smtp_starttls")
    @classmethod
    def _replaced_by_smtp_tls(cls, value: str | None) -> None:
        if value is not None:
            raise ValueError("replaced by SMTP_TLS (none, starttls or implicit)")
        return None


@lru_cache
def get_settings() -> Settings:
    """The process's settings; exits naming the variable when one is missing or bad."""
    return load_settings(Settings)
