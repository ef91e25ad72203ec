"""The view the report worker counts deliveries through (``contracts.views.VIEWS``).

``email_worker.deliveries_v1``: each delivery attempt's tenant, lane, outcome,
recipients and time (the ``email_activity`` report); not the addresses' details, SMTP
answers or results. A plain view over one table: PostgreSQL inlines it, and the
``(tenant, attempted_at)`` index serves the report's scan as before. A published
version never changes: other columns mean ``deliveries_v2`` beside it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "email_worker"


def upgrade() -> None:
    op.execute(
        f"CREATE VIEW {SCHEMA}.deliveries_v1 AS"
        f" SELECT tenant, lane, outcome, recipients, attempted_at FROM {SCHEMA}.deliveries"
    )


def downgrade() -> None:
    op.execute(f"DROP VIEW {SCHEMA}.deliveries_v1")
