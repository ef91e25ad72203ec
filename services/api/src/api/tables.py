"""The API's tables (schema ``api``), as the migrations create them.

The running API reads and writes them with plain SQL (:mod:`api.db` says why); this is
where their columns are declared once, for Alembic and for readers.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Computed,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSON, JSONB

SCHEMA = "api"

metadata = MetaData(schema=SCHEMA)

#: One row per workflow. ``steps`` holds each step's last known state, derived from
#: Celery's result table by the status updater, and ``document`` the status document
#: rendered from it (JSON text, as served) with its ``etag``.
workflows = Table(
    "workflows",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("shape", Text, nullable=False),
    Column("origin", Text, nullable=False, server_default="api"),
    Column("request_id", Text, nullable=True),
    Column("status", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("cancelled_at", DateTime(timezone=True), nullable=True),
    #: When an unfinished workflow fails as ``DeadlineExceeded`` (its kind's
    #: ``DEADLINE_<KIND>`` after acceptance); NULL only on rows finished before 0005.
    Column("deadline_at", DateTime(timezone=True), nullable=True),
    Column("request", JSONB, nullable=False),
    Column("steps", JSONB, nullable=False),
    Column("result", JSONB, nullable=True),
    Column("error", JSONB, nullable=True),
    Column("document", JSON, nullable=False),
    Column("etag", Text, nullable=False),
)
Index(
    "workflows_tenant_created",
    workflows.c.tenant,
    workflows.c.created_at.desc(),
    workflows.c.id.desc(),
)
Index(
    "workflows_tenant_kind_created",
    workflows.c.tenant,
    workflows.c.kind,
    workflows.c.created_at.desc(),
    workflows.c.id.desc(),
)
Index(
    "workflows_tenant_status_created",
    workflows.c.tenant,
    workflows.c.status,
    workflows.c.created_at.desc(),
    workflows.c.id.desc(),
)
Index(
    "workflows_unfinished",
    workflows.c.created_at,
    postgresql_where=text("finished_at IS NULL"),
)
#: The status leader's reads of what is due: the next deadline, and the expired ones.
Index(
    "workflows_unfinished_deadline",
    workflows.c.deadline_at,
    postgresql_where=text("finished_at IS NULL"),
)

#: Messages committed with their workflow and not yet confirmed by the broker.
outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("workflow_id", Uuid, nullable=False),
    Column("message", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text, nullable=True),
    #: When the relay may try it (again): a refused message backs off alone.
    Column(
        "next_attempt_at", DateTime(timezone=True), nullable=False, server_default=text("now()")
    ),
)
Index("outbox_due", outbox.c.next_attempt_at, outbox.c.id)

#: Messages the relay gave up on after ``OUTBOX_MAX_ATTEMPTS`` refusals (their workflows
#: failed with the reason), kept as they were for an operator to inspect.
outbox_dead = Table(
    "outbox_dead",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("workflow_id", Uuid, nullable=False),
    Column("message", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("moved_at", DateTime(timezone=True), nullable=False),
)

#: API keys: only a SHA-256 of each key is kept (keys are 256-bit random, so a slow
#: password hash buys nothing); ``prefix`` lets people tell their keys apart.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant", Text, nullable=False),
    Column("name", Text, nullable=True),
    Column("prefix", Text, nullable=False),
    Column("key_hash", Text, nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

#: ``Idempotency-Key`` of each POST, per tenant: the body it came with and the answer.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("tenant", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("request_hash", Text, nullable=False),
    Column("workflow_id", Uuid, nullable=False),
    Column("response", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
Index("idempotency_keys_created", idempotency_keys.c.created_at)

#: Webhook endpoints a tenant registered (``/v1/webhooks``). The secret is kept as it is:
#: every delivery is signed with it. A deleted endpoint keeps its row (``deleted_at``).
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("tenant", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("events", ARRAY(Text), nullable=False),
    Column("secret", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("deleted_at", DateTime(timezone=True), nullable=True),
)
Index(
    "webhook_endpoints_tenant",
    webhook_endpoints.c.tenant,
    webhook_endpoints.c.created_at.desc(),
    webhook_endpoints.c.id.desc(),
    postgresql_where=text("deleted_at IS NULL"),
)

#: One per endpoint and finished workflow, inserted by the trigger
#: ``switchyard_workflow_finished`` with its outbox message; ``status`` is ``pending``
#: until it is ``delivered``, ``failed`` (given up) or ``cancelled`` (endpoint deleted).
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("endpoint_id", Uuid, ForeignKey("api.webhook_endpoints.id"), nullable=False),
    Column("workflow_id", Uuid, nullable=False),
    Column("event", Text, nullable=False),
    #: The ``webhook-id`` of every attempt.
    Column(
        "message_id",
        Text,
        Computed("'msg_' || replace(id::text, '-', '')", persisted=True),
        nullable=False,
    ),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("first_attempt_at", DateTime(timezone=True), nullable=True),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("finished_at", DateTime(timezone=True), nullable=True),
)

#: Every attempt of every delivery, listed newest first per endpoint.
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("delivery_id", Uuid, ForeignKey("api.webhook_deliveries.id"), nullable=False),
    Column("endpoint_id", Uuid, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("attempted_at", DateTime(timezone=True), nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("outcome", Text, nullable=False),
)
Index(
    "webhook_attempts_endpoint",
    webhook_attempts.c.endpoint_id,
    webhook_attempts.c.attempted_at.desc(),
    webhook_attempts.c.id.desc(),
)
Index("webhook_attempts_delivery", webhook_attempts.c.delivery_id)
