"""The email worker's table (schema ``email_worker``) and the report views it reads."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB

SCHEMA = "email_worker"

metadata = MetaData(schema=SCHEMA)

#: One row per delivery attempt: what the email_activity report counts, and how a
#: redelivered task learns that its email already went out.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("task_id", Text, nullable=False),
    Column("workflow_id", Text, nullable=True),
    Column("tenant", Text, nullable=False),
    Column("lane", Text, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("smtp_code", Integer, nullable=True),
    Column("detail", Text, nullable=True),
    Column("message_id", Text, nullable=True),
    Column("recipients", Integer, nullable=False),
    Column("result", JSONB, nullable=True),
    Column("attempted_at", DateTime(timezone=True), nullable=False),
)
Index("deliveries_task", deliveries.c.task_id)
Index("deliveries_tenant_attempted", deliveries.c.tenant, deliveries.c.attempted_at)
Index(
    "deliveries_sent_once",
    deliveries.c.task_id,
    unique=True,
    postgresql_where=deliveries.c.outcome == "sent",
)

# The views the report worker publishes (contracts.views), read to attach reports by
# reference: never its tables.
_reports_schema = MetaData(schema="report_worker")

reports = Table(
    "reports_v1",
    _reports_schema,
    Column("id", Uuid, primary_key=True),
    Column("tenant", Text),
    Column("content_type", Text),
    Column("filename", Text),
    Column("size", BigInteger),
)

report_chunks = Table(
    "report_content_v1",
    _reports_schema,
    Column("report_id", Uuid, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("data", LargeBinary),
)
