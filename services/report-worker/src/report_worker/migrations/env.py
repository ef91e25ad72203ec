"""Alembic environment of the report worker's schema: its own version table
(:func:`switchyard_runtime.migrations.run_migrations`)."""

from __future__ import annotations

from report_worker.config import get_settings
from report_worker.tables import SCHEMA, metadata
from switchyard_runtime.migrations import run_migrations

#: Serializes concurrent `report-worker migrate` runs.
MIGRATION_LOCK = 0x7265_706F  # "repo"

run_migrations(metadata, SCHEMA, get_settings, lock=MIGRATION_LOCK, command="report-worker migrate")
