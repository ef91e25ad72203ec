"""Joins the two migrations made side by side after 0003: 0004 (outbox retries) and 0005
(deadlines). They touch different tables, so either order is right; a database already
at 0005 gets 0004 on its next ``api migrate``.

Revision ID: 0006
Revises: 0004, 0005
Create Date: 2026-12-08
"""

from __future__ import annotations

revision = "0006"
down_revision = ("0004", "0005")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: the join itself is the point."""


def downgrade() -> None:
    """Nothing to undo."""
