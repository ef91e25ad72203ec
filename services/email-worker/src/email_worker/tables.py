"""The email worker's table (schema ``email_worker``) and the reports it reads."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, Table, Text
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
