"""The report worker's tables (schema ``report_worker``) and the views it reads.

A report's bytes live in ``report_chunks``, in order, a chunk at a time: neither building
nor serving a report ever holds the whole artifact in memory.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    Uuid,
)

SCHEMA = "report_worker"

metadata = MetaData(schema=SCHEMA)

reports = Table(
    "reports",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant", Text, nullable=False, index=True),
    Column("kind", Text, nullable=False),
    Column("format", Text, nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("content_type", Text, nullable=False),
    Column("filename", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("task_id", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

report_chunks = Table(
    "report_chunks",
    metadata,
    Column("report_id", Uuid, ForeignKey(reports.c.id, ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)

# What the reports are computed from: the views the other services publish for it
# (contracts.views), never their tables.
_sources = MetaData()

deliveries = Table(
    "deliveries_v1",
    _sources,
    Column("tenant", Text),
    Column("lane", Text),
    Column("outcome", Text),
    Column("recipients", Integer),
    Column("attempted_at", DateTime(timezone=True)),
    schema="email_worker",
)

workflows = Table(
    "workflows_v1",
    _sources,
    Column("tenant", Text),
    Column("kind", Text),
    Column("status", Text),
    Column("created_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    schema="api",
)
