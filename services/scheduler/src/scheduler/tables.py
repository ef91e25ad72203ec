"""The scheduler's table (schema ``scheduler``): beat's state, one row per schedule."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, MetaData, Table, Text

SCHEMA = "scheduler"

metadata = MetaData(schema=SCHEMA)

#: Each schedule's last tick sent (or, before its first, when it was first seen), so a
#: restarted or newly elected scheduler neither repeats a tick nor sends one it never had.
entries = Table(
    "entries",
    metadata,
    Column("name", Text, primary_key=True),
    Column("last_run_at", DateTime(timezone=True), nullable=False),
    Column("total_run_count", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
