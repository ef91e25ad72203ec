"""Alembic environment of the email worker's schema: its own version table
(:func:`switchyard_runtime.migrations.run_migrations`)."""

from __future__ import annotations

from email_worker.config import get_settings
from email_worker.tables import SCHEMA, metadata
from switchyard_runtime.migrations import run_migrations

#: Serializes concurrent `email-worker migrate` runs.
MIGRATION_LOCK = 0x656D_6169  # "emai"

run_migrations(metadata, SCHEMA, get_settings, lock=MIGRATION_LOCK, command="email-worker migrate")
