"""Alembic environment of the email worker's schema: its own version table."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text

from contracts.database_roles import grant_schema
from email_worker.config import get_settings
from email_worker.tables import SCHEMA, metadata

#: Serializes concurrent `email-worker migrate` runs.
MIGRATION_LOCK = 0x656D_6169  # "emai"

if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `email-worker migrate`")

engine = create_engine(
    context.config.attributes.get("url") or get_settings().sync_session_database_url
)
try:
    with engine.begin() as connection:
        connection.execute(text(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})"))
        connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        context.configure(
            connection=connection, target_metadata=metadata, version_table_schema=SCHEMA
        )
        with context.begin_transaction():
            context.run_migrations()
            # Its role's DML on the schema, other roles' reads of it (contracts).
            grant_schema(connection, SCHEMA)
finally:
    engine.dispose()
