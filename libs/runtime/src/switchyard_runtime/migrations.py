"""Each service's schema migrations, the same way: one Alembic ``env.py`` body and one
``migrate`` command for all of them.

A service's ``migrations/env.py`` is a call to :func:`run_migrations` with its metadata,
its schema and its lock; its ``migrate`` command is :func:`migrate` (or :func:`upgrade`).
Every service keeps its own version table in its own schema, so the services' migrations
are independent of each other and may run in any order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib.resources import files

from alembic import command as alembic_command
from alembic import context
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import Connection

from switchyard_runtime.database_roles import grant_schema
from switchyard_runtime.settings import PlatformSettings

#: Alembic's own name for the table that records a schema's revision.
VERSION_TABLE = "alembic_version"


def alembic_config(package: str) -> Config:
    """The Alembic configuration of ``package``'s migrations (its ``alembic.ini`` and
    ``<package>:migrations``), found wherever the package is installed."""
    config = Config(str(files(package).joinpath("alembic.ini")))
    config.set_main_option("script_location", f"{package}:migrations")
    return config


def upgrade(package: str, *, url: str | None = None) -> None:
    """Apply ``package``'s migrations up to head; on ``url`` when given, else on the
    URL its ``env.py`` reads from the settings."""
    config = alembic_config(package)
    if url is not None:
        config.attributes["url"] = url
    alembic_command.upgrade(config, "head")


def migrate(package: str, service: str, settings: Callable[[], PlatformSettings]) -> None:
    """A service's ``migrate`` command: its settings read first (a bad variable stops it
    there, naming it), then its migrations applied (:func:`upgrade`)."""
    settings()
    upgrade(package)
    print(f"{service}: schema at head")


def run_migrations(
    metadata: MetaData,
    schema: str,
    settings: Callable[[], PlatformSettings],
    *,
    lock: int,
    command: str,
    version_table: str = VERSION_TABLE,
    grant: Sequence[str] | None = None,
    include_schemas: bool = False,
) -> None:
    """The body of a service's ``env.py``: run its migrations in one transaction.

    Under a transaction-scoped advisory lock ``lock`` (two replicas migrating at once take
    turns), it creates ``schema`` if needed, keeps ``version_table`` in it, applies the
    migrations and grants the roles their rights on each schema of ``grant`` (default:
    ``schema``; :func:`switchyard_runtime.database_roles.grant_schema`). The database is the URL
    :func:`upgrade` was given, else ``settings()``'s ``DATABASE_SESSION_URL`` (read only
    then, so that a given URL needs no settings): migrations need a session, never a
    transaction pooler. ``command`` is what the refusal of offline mode tells to run.
    """
    if context.is_offline_mode():
        raise SystemExit(f"offline migrations are not supported; run `{command}`")
    url = context.config.attributes.get("url") or settings().sync_session_database_url
    engine = create_engine(url)

    def migrate(connection: Connection) -> None:
        connection.execute(text(f"SELECT pg_advisory_xact_lock({lock})"))
        connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table=version_table,
            version_table_schema=schema,
            include_schemas=include_schemas,
        )
        with context.begin_transaction():
            context.run_migrations()
            for granted in (schema,) if grant is None else grant:
                grant_schema(connection, granted)

    try:
        with engine.begin() as connection:
            migrate(connection)
    finally:
        engine.dispose()
