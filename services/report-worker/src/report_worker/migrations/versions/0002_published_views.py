"""The views other services read reports through (``contracts.views.VIEWS``).

- ``report_worker.reports_v1``: a report's metadata (the API's downloads, the email
  worker's attachments); readers filter by ``tenant`` themselves.
- ``report_worker.report_content_v1``: its bytes, one row per chunk, in ``seq`` order.

Both are plain views over one table each, so PostgreSQL inlines them and the primary
keys serve the readers' lookups as before. A published version never changes: a reader
that needs other columns gets ``reports_v2`` beside ``reports_v1``.

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

SCHEMA = "report_worker"


def upgrade() -> None:
    op.execute(
        f"CREATE VIEW {SCHEMA}.reports_v1 AS"
        " SELECT id, tenant, kind, format, period_start, period_end, content_type, filename,"
        f" size, rows, sha256, created_at FROM {SCHEMA}.reports"
    )
    op.execute(
        f"CREATE VIEW {SCHEMA}.report_content_v1 AS"
        f" SELECT report_id, seq, data FROM {SCHEMA}.report_chunks"
    )


def downgrade() -> None:
    op.execute(f"DROP VIEW {SCHEMA}.report_content_v1")
    op.execute(f"DROP VIEW {SCHEMA}.reports_v1")
