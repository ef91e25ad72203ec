"""Signed completion webhooks: endpoints, deliveries, attempts, and the trigger that
enqueues a delivery when a workflow finishes.

- ``api.webhook_endpoints``: what a tenant registered (``POST /v1/webhooks``), with the
  secret its deliveries are signed with; a deleted one keeps its row (``deleted_at``).
- ``api.webhook_deliveries``: one per endpoint and finished workflow; ``message_id``
  (derived from its id) is the ``webhook-id`` of every attempt, so a receiver can drop a
  repeated one.
- ``api.webhook_attempts``: every attempt, with what the receiver answered.
- ``api.webhook_message(delivery)``: the delivery's outbox message, a Celery signature of
  ``webhook.deliver`` as JSON, the same shape the API's planner writes for a task
  (``tests/test_webhooks_e2e.py`` compares the two). It carries no ``workflow_id``
  header: a delivery is no step of its workflow, and its result rows must not announce
  step changes (``switchyard_steps``) of a workflow that has finished.
- The trigger ``switchyard_workflow_finished``: when an ``api.workflows`` row's
  ``finished_at`` goes from NULL to a value, whoever wrote it (the status leader, a
  cancel, a deadline, a lost message, the relay giving up), it inserts a delivery per
  subscribed endpoint of the tenant and an outbox message per delivery, in the same
  transaction as the finish, and NOTIFYs ``switchyard_outbox`` so that a relay takes them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

SCHEMA = "api"

_MESSAGE = """
CREATE FUNCTION api.webhook_message(delivery_id uuid) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT jsonb_build_object(
        'task', 'webhook.deliver',
        'args', '[]'::jsonb,
        'kwargs', jsonb_build_object('delivery_id', delivery_id::text),
        'options', jsonb_build_object(
            'task_id', delivery_id::text,
            'queue', 'webhooks.deliver',
            'exchange', 'webhooks',
            'routing_key', 'webhook.deliver.default',
            'argsrepr', '()',
            'kwargsrepr', '{delivery_id}'),
        'subtask_type', NULL,
        'immutable', true)
$$
"""

_ENQUEUE = """
CREATE FUNCTION api.enqueue_webhook_deliveries() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    WITH delivery AS (
        INSERT INTO api.webhook_deliveries (id, endpoint_id, workflow_id, event, created_at)
        SELECT subscribed.id, subscribed.endpoint_id, NEW.id, 'workflow.finished', now()
        FROM (SELECT gen_random_uuid() AS id, endpoint.id AS endpoint_id
              FROM api.webhook_endpoints AS endpoint
              WHERE endpoint.tenant = NEW.tenant AND endpoint.deleted_at IS NULL
                AND 'workflow.finished' = ANY (endpoint.events)) AS subscribed
        RETURNING id
    )
    INSERT INTO api.outbox (workflow_id, message, created_at)
    SELECT NEW.id, api.webhook_message(delivery.id), now() FROM delivery;
    IF FOUND THEN
        PERFORM pg_notify('switchyard_outbox', '');
    END IF;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("tenant", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        schema=SCHEMA,
    )
    op.create_index(
        "webhook_endpoints_tenant",
        "webhook_endpoints",
        ["tenant", sa.text("created_at DESC"), sa.text("id DESC")],
        schema=SCHEMA,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "endpoint_id",
            sa.Uuid(),
            sa.ForeignKey("api.webhook_endpoints.id"),
            nullable=False,
        ),
        sa.Column("workflow_id", sa.Uuid(), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column(
            "message_id",
            sa.Text(),
            sa.Computed("'msg_' || replace(id::text, '-', '')", persisted=True),
            nullable=False,
        ),
        sa.Column("status", sa.Text(), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        schema=SCHEMA,
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column(
            "delivery_id",
            sa.Uuid(),
            sa.ForeignKey("api.webhook_deliveries.id"),
            nullable=False,
        ),
        sa.Column("endpoint_id", sa.Uuid(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        schema=SCHEMA,
    )
    op.create_index(
        "webhook_attempts_endpoint",
        "webhook_attempts",
        ["endpoint_id", sa.text("attempted_at DESC"), sa.text("id DESC")],
        schema=SCHEMA,
    )
    op.create_index("webhook_attempts_delivery", "webhook_attempts", ["delivery_id"], schema=SCHEMA)
    op.execute(_MESSAGE)
    op.execute(_ENQUEUE)
    op.execute(
        "CREATE TRIGGER switchyard_workflow_finished AFTER UPDATE OF finished_at ON api.workflows"
        " FOR EACH ROW WHEN (OLD.finished_at IS NULL AND NEW.finished_at IS NOT NULL)"
        " EXECUTE FUNCTION api.enqueue_webhook_deliveries()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER switchyard_workflow_finished ON api.workflows")
    op.execute("DROP FUNCTION api.enqueue_webhook_deliveries()")
    op.execute("DROP FUNCTION api.webhook_message(uuid)")
    op.drop_table("webhook_attempts", schema=SCHEMA)
    op.drop_table("webhook_deliveries", schema=SCHEMA)
    op.drop_table("webhook_endpoints", schema=SCHEMA)
