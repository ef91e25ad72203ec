"""Outbox messages retried one by one, and moved aside when they keep failing.

- ``api.outbox.next_attempt_at``: when the relay may try a message again. A message the
  broker refused backs off on its own, so the rows behind it go out meanwhile; the relay
  takes due rows in the order of the index ``outbox_due``, which also answers "how long
  has the most overdue message waited" in one read.
- ``api.outbox_dead``: messages given up after ``OUTBOX_MAX_ATTEMPTS`` refusals, kept as
  they were (with the last reason) for an operator to inspect.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = "api"


def upgrade() -> None:
    # A stable default is evaluated once for the existing rows, then per insert.
    op.execute(
        "ALTER TABLE api.outbox ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now()"
    )
    op.execute("UPDATE api.outbox SET next_attempt_at = created_at")
    op.create_index("outbox_due", "outbox", ["next_attempt_at", "id"], schema=SCHEMA)
    op.create_table(
        "outbox_dead",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("workflow_id", sa.Uuid(), nullable=False),
        sa.Column("message", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("moved_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("outbox_dead", schema=SCHEMA)
    op.drop_index("outbox_due", "outbox", schema=SCHEMA)
    op.execute("ALTER TABLE api.outbox DROP COLUMN next_attempt_at")
