"""Alembic environment of the scheduler's schema: its own version table
(:func:`contracts.migrations.run_migrations`)."""

from __future__ import annotations

from contracts.migrations import run_migrations
from scheduler.config import get_settings
from scheduler.tables import SCHEMA, metadata

#: Serializes concurrent `scheduler migrate` runs (two replicas starting at once).
MIGRATION_LOCK = 0x7363_6864  # "schd"

run_migrations(metadata, SCHEMA, get_settings, lock=MIGRATION_LOCK, command="scheduler migrate")
