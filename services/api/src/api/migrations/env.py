"""Alembic environment of the API's schema: its own version table
(:func:`switchyard_runtime.migrations.run_migrations`)."""

from __future__ import annotations

from api.config import get_settings
from api.tables import SCHEMA, metadata
from switchyard_runtime.migrations import run_migrations

#: Serializes concurrent `api migrate` runs (two replicas starting at once).
MIGRATION_LOCK = 0x6170_6900  # "api"

run_migrations(
    metadata,
    SCHEMA,
    get_settings,
    lock=MIGRATION_LOCK,
    command="api migrate",
    # The API role's DML on its schema, other roles' reads of it, and who may write
    # Celery's result tables (made by `api migrate`, in public): contracts.
    grant=(SCHEMA, "public"),
    include_schemas=True,
)
