"""Settings every service shares: where the broker and the database are.

Each service extends :class:`PlatformSettings` with its own variables, so a variable
means the same thing in every service. ``DATABASE_URL`` is given in the plain
``postgresql://user:pass@host:port/db`` form; each consumer derives the driver URL it
needs from it (asyncpg for the API, psycopg 3 for Celery and the workers).

``AMQP_URL`` names one broker node, or every node of a cluster separated by ``;``
(``amqp://u:p@h1:5672/vh;amqp://u:p@h2:5672/vh``): every connection a service opens
tries them in turn (kombu's round-robin failover), so a stopped node costs a reconnect.

Behind a pooler, two URLs: ``DATABASE_URL`` for work that fits in a transaction (it may
go through PgBouncer's transaction mode, ``DATABASE_POOLER=transaction``), and
``DATABASE_SESSION_URL`` (default: ``DATABASE_URL``) for what needs a session of its own
(LISTEN, session advisory locks, the migrations): direct, or a session-mode pooler.
"""

from __future__ import annotations

import sys
from typing import Annotated, Literal, TypeVar
from urllib.parse import unquote

from pydantic import (
    AmqpDsn,
    Field,
    PostgresDsn,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from switchyard_runtime.metrics import MetricsPort

DEFAULT_AMQP_URL = "amqp://guest:guest@localhost:5672//"
DEFAULT_DATABASE_URL = "postgresql://postgres@localhost:5432/postgres"

#: Separates the nodes of a cluster in ``AMQP_URL`` (as kombu's failover reads it).
NODE_SEPARATOR = ";"

_AMQP_DSN: TypeAdapter[AmqpDsn] = TypeAdapter(AmqpDsn)


def _vhost(url: AmqpDsn) -> str:
    path = url.path or ""
    return unquote(path[1:]) if len(path) > 1 else "/"


def parse_amqp_urls(value: str) -> list[AmqpDsn]:
    """Each node's URL of an ``AMQP_URL``; a ``ValueError`` saying what is wrong.

    Every part must be an ``amqp://`` or ``amqps://`` URL and all must name the same
    virtual host (failing over to another vhost would find none of the queues). The
    message names the part by its position, never its text (which holds a password).
    """
    parts = [part.strip() for part in value.split(NODE_SEPARATOR)]
    urls = []
    for index, part in enumerate(parts, start=1):
        where = f"node {index} of {len(parts)}: " if len(parts) > 1 else ""
        if not part:
            raise ValueError(f"{where}empty (separate the nodes' URLs with a single ';')")
        try:
            urls.append(_AMQP_DSN.validate_python(part))
        except ValidationError as exc:
            raise ValueError(f"{where}{exc.errors()[0]['msg']}") from None
    vhosts = [_vhost(url) for url in urls]
    if len(set(vhosts)) > 1:
        raise ValueError(
            f"every node must name the same virtual host, not {', '.join(map(repr, vhosts))}"
        )
    return urls


class PlatformSettings(BaseSettings):
    """The broker and database locations, read from ``AMQP_URL`` and ``DATABASE_URL``."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    #: One node's URL, or several separated by ``;`` (:func:`parse_amqp_urls`).
    amqp_url: str = Field(default=DEFAULT_AMQP_URL)
    database_url: PostgresDsn = Field(default=PostgresDsn(DEFAULT_DATABASE_URL))
    #: Where connections that need a session of their own go (LISTEN, session advisory
    #: locks, migrations): PostgreSQL itself or a session-mode pooler. Unset: DATABASE_URL.
    database_session_url: PostgresDsn | None = None
    #: ``transaction`` when DATABASE_URL goes through a transaction-mode pooler
    #: (PgBouncer 1.18): no prepared statements, only the startup parameters it tracks.
    database_pooler: Literal["none", "transaction"] = "none"
    #: The Celery result backend's connections per process, kept open and at most beyond
    #: those: one engine on DATABASE_URL, one for the claims on DATABASE_SESSION_URL.
    db_result_pool_size: int = Field(default=4, ge=1)
    db_result_pool_max_overflow: int = Field(default=16, ge=0)
    #: Celery task events (``TASK_EVENTS``): workers report each task's life and
    #: producers each publication, for Flower. Off by default: they cost messages.
    task_events: bool = False
    #: Which broker users may act for which tenants (``TENANT_PRODUCERS``, JSON: user ->
    #: tenants, ``"*"`` for all), over the platform's defaults
    #: (:mod:`switchyard_runtime.entitlements`).
    tenant_producers: dict[str, list[Annotated[str, Field(min_length=1)]]] = Field(
        default_factory=dict
    )
    #: The tenant of scheduled runs: the one the ``scheduler`` broker user acts for.
    scheduler_tenant: str = Field(default="system", min_length=1, max_length=64)

    @field_validator("amqp_url")
    @classmethod
    def _amqp_urls(cls, value: str) -> str:
        return NODE_SEPARATOR.join(str(url) for url in parse_amqp_urls(value))

    @property
    def amqp_urls(self) -> list[AmqpDsn]:
        """Each broker node's URL, in the order connections try them."""
        return parse_amqp_urls(self.amqp_url)

    @field_validator("database_url", "database_session_url")
    @classmethod
    def _plain_postgresql(cls, value: PostgresDsn | None) -> PostgresDsn | None:
        if value is not None and value.scheme not in ("postgresql", "postgres"):
            raise ValueError(
                "use the plain postgresql://user:pass@host:port/db form; "
                "each service picks its own driver"
            )
        return value

    @field_validator("database_pooler")
    @classmethod
    def _sessions_elsewhere(cls, value: str, info: ValidationInfo) -> str:
        # A session advisory lock taken through transaction pooling stays on whichever
        # server connection ran it, and every client handed that connection later
        # "holds" it too: two leaders. Refuse rather than run so.
        if value == "transaction" and info.data.get("database_session_url") is None:
            raise ValueError(
                "DATABASE_URL goes through a transaction pooler: set DATABASE_SESSION_URL "
                "to PostgreSQL itself (or a session-mode pooler) for LISTEN, the "
                "leaderships' and claims' session locks and the migrations"
            )
        return value

    @property
    def transaction_pooled(self) -> bool:
        """Whether ``DATABASE_URL`` goes through a transaction-mode pooler."""
        return self.database_pooler == "transaction"

    @property
    def session_database_url(self) -> str:
        """The plain URL of connections that need a session (``DATABASE_SESSION_URL``)."""
        return str(self.database_session_url or self.database_url)

    @property
    def async_session_database_url(self) -> str:
        """SQLAlchemy URL (asyncpg) of the session connections."""
        return self._database_url_with("postgresql+asyncpg", self.session_database_url)

    @property
    def sync_session_database_url(self) -> str:
        """SQLAlchemy URL (psycopg 3) of the session connections."""
        return self._database_url_with("postgresql+psycopg", self.session_database_url)

    def _database_url_with(self, scheme: str, url: str | None = None) -> str:
        rest = (url or str(self.database_url)).split("://", 1)[1]
        return f"{scheme}://{rest}"

    @property
    def async_database_url(self) -> str:
        """SQLAlchemy URL for asyncio code (asyncpg)."""
        return self._database_url_with("postgresql+asyncpg")

    @property
    def sync_database_url(self) -> str:
        """SQLAlchemy URL for blocking code (psycopg 3)."""
        return self._database_url_with("postgresql+psycopg")

    @property
    def result_backend_url(self) -> str:
        """Celery's database result backend URL (``db+postgresql+psycopg://...``)."""
        return "db+" + self.sync_database_url

    @property
    def amqp_user(self) -> str:
        """The broker user of ``AMQP_URL`` (its first node's; AMQP's ``guest`` when it
        names none)."""
        return unquote(self.amqp_urls[0].username or "") or "guest"


class WorkerSettings(PlatformSettings):
    """What every worker service adds to :class:`PlatformSettings`: how many tasks it
    runs at once and where it serves its metrics. A worker's settings extend this,
    giving ``worker_concurrency`` its own default where it needs one."""

    #: Tasks run at once (``WORKER_CONCURRENCY``): prefork children, or threads.
    worker_concurrency: int = Field(default=2, ge=1)
    #: Port of the worker's Prometheus endpoint (0 or empty: none), and its address.
    metrics_port: MetricsPort = 0
    metrics_host: str = "127.0.0.1"


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def load_settings(settings_cls: type[SettingsT]) -> SettingsT:
    """Read settings from the environment, or exit naming each bad variable.

    A service calls this once at start-up: a missing or malformed variable stops it with
    a message such as ``AMQP_URL: Input should be a valid URL`` instead of a traceback.
    """
    try:
        return settings_cls()
    except ValidationError as exc:
        lines = [f"configuration error in {settings_cls.__name__}:"]
        for error in exc.errors():
            variable = "_".join(str(part) for part in error["loc"]).upper() or "?"
            lines.append(f"  {variable}: {error['msg']}")
        sys.stderr.write("\n".join(lines) + "\n")
        raise SystemExit(2) from None
