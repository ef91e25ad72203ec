"""Every workflow ends: a deadline per workflow, and the index that finds the due ones.

``api.workflows.deadline_at`` is set when a workflow is accepted (its kind's
``DEADLINE_<KIND>`` after ``created_at``). Unfinished rows get theirs here, from the same
settings; one already past it fails at the status leader's first look. The partial index
on unfinished rows is what the leader reads: the next deadline (its first entry) and the
expired ones, never the whole backlog.

Revision ID: 0005
Revises: 0003 (0004 is added on another branch; the chain is joined when they merge)
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from api.config import get_settings
from contracts import WorkflowKind

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE api.workflows ADD COLUMN deadline_at timestamptz")
    settings = get_settings()
    seconds = {kind.value: settings.deadline_of(kind).total_seconds() for kind in WorkflowKind}
    cases = " ".join(f"WHEN '{kind}' THEN {value}" for kind, value in seconds.items())
    op.execute(
        sa.text(
            "UPDATE api.workflows SET deadline_at = created_at"
            f" + make_interval(secs => CASE kind {cases} ELSE {max(seconds.values())} END)"
            " WHERE finished_at IS NULL"
        )
    )
    op.execute(
        "CREATE INDEX workflows_unfinished_deadline ON api.workflows (deadline_at)"
        " WHERE finished_at IS NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX api.workflows_unfinished_deadline")
    op.execute("ALTER TABLE api.workflows DROP COLUMN deadline_at")
