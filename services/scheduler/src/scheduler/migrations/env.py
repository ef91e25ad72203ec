"""Alembic environment of the scheduler's schema: its own version table
(:func:`switchyard_runtime.migrations.run_migrations`)."""

from __future__ import annotations

from scheduler.config import get_settings
from scheduler.tables import SCHEMA, metadata
from switchyard_runtime.migrations import run_migrations

#: Serializes concurrent `scheduler migrate` runs (two replicas starting at once).
MIGRATION_LOCK = 0x7363_6864  # "schd"

run_migrations(metadata, SCHEMA, get_settings, lock=MIGRATION_LOCK, command="scheduler migrate")
