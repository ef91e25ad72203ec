"""The view the report worker summarizes workflows through (``contracts.views.VIEWS``).

``api.workflows_v1``: each workflow's tenant, kind, status and times (the
``workflow_summary`` report); not its request, steps, results or document. A plain view
over one table: PostgreSQL inlines it, and the ``(tenant, created_at)`` index serves the
report's scan as before. A published version never changes: other columns mean
``workflows_v2`` beside it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SCHEMA = "api"


def upgrade() -> None:
    op.execute(
        f"CREATE VIEW {SCHEMA}.workflows_v1 AS"
        f" SELECT tenant, kind, status, created_at, finished_at FROM {SCHEMA}.workflows"
    )


def downgrade() -> None:
    op.execute(f"DROP VIEW {SCHEMA}.workflows_v1")
