"""Alembic environment of the API's schema: async (asyncpg), its own version table."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from api.config import get_settings
from api.tables import SCHEMA, metadata
from contracts.database_roles import grant_schema

#: Serializes concurrent `api migrate` runs (two replicas starting at once).
MIGRATION_LOCK = 0x6170_6900  # "api"


def _run(connection: Connection) -> None:
    connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
    connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table_schema=SCHEMA,
        include_schemas=True,
    )
    with context.begin_transaction():
        context.run_migrations()
        # The API role's DML on its schema, other roles' reads of it, and who may write
        # Celery's result tables (made by `api migrate`, in public): contracts.
        grant_schema(connection, SCHEMA)
        grant_schema(connection, "public")


async def _main() -> None:
    url = context.config.attributes.get("url") or get_settings().async_session_database_url
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `api migrate`")
asyncio.run(_main())
