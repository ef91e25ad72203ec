"""Lanes per API key, and per-tenant quotas counted in PostgreSQL.

- ``api.api_keys.lanes``: the email lanes a key may send in; NULL (every key made before
  this revision, and a new key made without ``--lanes``) means every lane, including
  lanes added later.
- ``api.tenant_quotas``: a tenant's own limits (``api quotas set``); a NULL column, or
  no row, means the API's default (``QUOTA_RECIPIENTS_PER_DAY``, ``QUOTA_REPORTS_PER_HOUR``).
- ``api.quota_usage``: one counter row per tenant, quota and window (a UTC day for
  recipients, a clock hour for reports).
- ``api.charge_quotas(...)``: adds a submission's recipients and reports to its tenant's
  counters (``INSERT ... ON CONFLICT DO UPDATE``, which locks the row, so concurrent
  submissions from any number of API processes count one after the other) and raises
  when a counter would pass its limit. The API calls it inside the statement (or
  transaction) that stores the workflow, so a refused submission rolls its counting
  back with everything else, and an accepted one is counted exactly once.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SCHEMA = "api"

# The counters are locked in one order (recipients, then reports), so two submissions
# of one tenant never wait on each other crosswise. The message is what the API
# recognises; the detail is JSON it reads the refusal from.
_CHARGE = """
CREATE FUNCTION api.charge_quotas(
    p_tenant text, p_recipients bigint, p_reports bigint, p_at timestamptz,
    p_default_recipients bigint, p_default_reports bigint
) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    recipients_limit bigint;
    reports_limit bigint;
    this_window timestamptz;
    total bigint;
BEGIN
    SELECT q.recipients_per_day, q.reports_per_hour INTO recipients_limit, reports_limit
        FROM api.tenant_quotas AS q WHERE q.tenant = p_tenant;
    recipients_limit := coalesce(recipients_limit, p_default_recipients);
    reports_limit := coalesce(reports_limit, p_default_reports);
    IF p_recipients > 0 THEN
        this_window := date_trunc('day', p_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
        INSERT INTO api.quota_usage AS u (tenant, quota, window_start, used)
            VALUES (p_tenant, 'recipients_per_day', this_window, p_recipients)
            ON CONFLICT (tenant, quota, window_start) DO UPDATE SET used = u.used + EXCLUDED.used
            RETURNING u.used INTO total;
        IF total > recipients_limit THEN
            RAISE EXCEPTION 'switchyard quota exceeded' USING DETAIL = json_build_object(
                'quota', 'recipients_per_day', 'limit', recipients_limit,
                'used', total - p_recipients, 'requested', p_recipients,
                'resets_at', this_window + interval '1 day')::text;
        END IF;
    END IF;
    IF p_reports > 0 THEN
        this_window := date_trunc('hour', p_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
        INSERT INTO api.quota_usage AS u (tenant, quota, window_start, used)
            VALUES (p_tenant, 'reports_per_hour', this_window, p_reports)
            ON CONFLICT (tenant, quota, window_start) DO UPDATE SET used = u.used + EXCLUDED.used
            RETURNING u.used INTO total;
        IF total > reports_limit THEN
            RAISE EXCEPTION 'switchyard quota exceeded' USING DETAIL = json_build_object(
                'quota', 'reports_per_hour', 'limit', reports_limit,
                'used', total - p_reports, 'requested', p_reports,
                'resets_at', this_window + interval '1 hour')::text;
        END IF;
    END IF;
    RETURN true;
END
$$
"""


def upgrade() -> None:
    op.add_column(
        "api_keys",
        sa.Column("lanes", sa.ARRAY(sa.Text()), nullable=True),
        schema=SCHEMA,
    )
    op.create_table(
        "tenant_quotas",
        sa.Column("tenant", sa.Text(), primary_key=True),
        sa.Column("recipients_per_day", sa.BigInteger(), nullable=True),
        sa.Column("reports_per_hour", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("recipients_per_day >= 0", name="recipients_per_day_not_negative"),
        sa.CheckConstraint("reports_per_hour >= 0", name="reports_per_hour_not_negative"),
        schema=SCHEMA,
    )
    op.create_table(
        "quota_usage",
        sa.Column("tenant", sa.Text(), primary_key=True),
        sa.Column("quota", sa.Text(), primary_key=True),
        sa.Column("window_start", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("used", sa.BigInteger(), nullable=False),
        schema=SCHEMA,
    )
    op.create_index("quota_usage_window", "quota_usage", ["window_start"], schema=SCHEMA)
    op.execute(_CHARGE)


def downgrade() -> None:
    op.execute("DROP FUNCTION api.charge_quotas(text, bigint, bigint, timestamptz, bigint, bigint)")
    op.drop_table("quota_usage", schema=SCHEMA)
    op.drop_table("tenant_quotas", schema=SCHEMA)
    op.drop_column("api_keys", "lanes", schema=SCHEMA)
