"""Alembic environment of the report worker's schema: its own version table."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text

from contracts.database_roles import grant_schema
from report_worker.config import get_settings
from report_worker.tables import SCHEMA, metadata

#: Serializes concurrent `report-worker migrate` runs.
MIGRATION_LOCK = 0x7265_706F  # "repo"

if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `report-worker migrate`")

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
