"""Status pushed on change: stored documents, and triggers that announce changes.

- ``api.workflows.document`` (JSON text as served) and ``etag``: a status read is one
  read of them. Existing rows get theirs from the state stored so far.
- ``celery_taskmeta.workflow_id`` (written by the workers' result backend from the
  task's headers) and a trigger NOTIFYing ``switchyard_steps`` with it on every write:
  the status updater follows that channel instead of scanning for changes.
- A trigger NOTIFYing ``switchyard_workflows`` with a workflow's id whenever its
  document changes: it wakes the long polls waiting for it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ISO = """to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""

_STEP = """json_build_object(
    'name', step->'name', 'task_id', step->'task_id',
    'status', coalesce(step->'status', '"queued"'), 'attempts', coalesce(step->'attempts', '0'),
    'started_at', step->'started_at', 'finished_at', step->'finished_at',
    'result', step->'result', 'error', step->'error', 'worker', step->'worker',
    'progress', step->'progress')"""

_BACKFILL = f"""
UPDATE api.workflows SET document = json_build_object(
    'id', id::text, 'kind', kind, 'status', status, 'origin', origin,
    'request_id', request_id,
    'created_at', {_ISO.format("created_at")},
    'updated_at', {_ISO.format("updated_at")},
    'finished_at', CASE WHEN finished_at IS NULL THEN NULL
                   ELSE {_ISO.format("finished_at")} END,
    'progress', json_build_object(
        'completed', (SELECT count(*) FROM jsonb_array_elements(steps) AS step
                      WHERE step->>'status' IN ('succeeded', 'failed', 'cancelled')),
        'total', jsonb_array_length(steps)),
    'steps', (SELECT coalesce(json_agg({_STEP} ORDER BY position), '[]'::json)
              FROM jsonb_array_elements(steps) WITH ORDINALITY AS listed(step, position)),
    'result', result, 'error', error)
"""


def upgrade() -> None:
    op.execute("ALTER TABLE api.workflows ADD COLUMN document json, ADD COLUMN etag text")
    op.execute(_BACKFILL)
    op.execute("UPDATE api.workflows SET etag = '\"' || md5(document::text) || '\"'")
    op.execute(
        "ALTER TABLE api.workflows ALTER COLUMN document SET NOT NULL,"
        " ALTER COLUMN etag SET NOT NULL"
    )

    # Celery's table (created by `api migrate` just before): the column may exist already.
    op.execute("ALTER TABLE celery_taskmeta ADD COLUMN IF NOT EXISTS workflow_id varchar(64)")
    op.execute(
        """
        CREATE FUNCTION api.announce_step_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('switchyard_steps', NEW.workflow_id);
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER switchyard_step_changed AFTER INSERT OR UPDATE ON celery_taskmeta"
        " FOR EACH ROW WHEN (NEW.workflow_id IS NOT NULL)"
        " EXECUTE FUNCTION api.announce_step_change()"
    )
    op.execute(
        """
        CREATE FUNCTION api.announce_document_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('switchyard_workflows', NEW.id::text);
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER switchyard_document_changed AFTER UPDATE OF etag ON api.workflows"
        " FOR EACH ROW WHEN (OLD.etag IS DISTINCT FROM NEW.etag)"
        " EXECUTE FUNCTION api.announce_document_change()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER switchyard_document_changed ON api.workflows")
    op.execute("DROP FUNCTION api.announce_document_change()")
    op.execute("DROP TRIGGER switchyard_step_changed ON celery_taskmeta")
    op.execute("DROP FUNCTION api.announce_step_change()")
    op.execute("ALTER TABLE api.workflows DROP COLUMN document, DROP COLUMN etag")
