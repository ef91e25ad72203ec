"""PostgreSQL roles: one per service, one that migrates, each granted only what it uses.

Who may touch what is declared here, once, and applied from two places:

- :func:`bootstrap` (``api db-roles``, run as the database's admin by compose's
  ``db-roles`` service, ``just dev`` and the tests) creates the roles if missing, keeps
  them unprivileged (no superuser, no ``CREATEDB``/``CREATEROLE``), lets the migration
  role create schemas in the current database and Celery's tables in ``public``, and
  hands it the schemas an older deployment made as the admin.
- :func:`grant_schema`, called by each service's migrations as the migration role (the
  owner of every schema), grants that service's role DML on its own schema (tables made
  later included: default privileges), and the other roles ``SELECT`` on exactly the
  views of it they read (:data:`READS`, from :data:`contracts.views.VIEWS`): never on its
  tables. It revokes first, so the grants converge on this declaration on every
  ``migrate``.

Roles are cluster-wide, grants per database: several databases on one server (test
sessions) share the roles, and two bootstraps at once are safe.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors, sql
from pydantic import Field, SecretStr
from sqlalchemy import Connection, text

from contracts.views import VIEWS
from switchyard_runtime.settings import PlatformSettings

API = "api"
EMAIL_WORKER = "email_worker"
REPORT_WORKER = "report_worker"
SCHEDULER = "scheduler"
#: Each service's role, named as its schema.
SERVICE_ROLES = (API, EMAIL_WORKER, REPORT_WORKER, SCHEDULER)
#: Owns every schema and Celery's tables; only migrations connect as it.
MIGRATOR = "migrator"
ROLES = (*SERVICE_ROLES, MIGRATOR)

#: What a service role may do in its own schema.
OWN_TABLES = "SELECT, INSERT, UPDATE, DELETE"
OWN_SEQUENCES = "USAGE, SELECT"

#: Celery's result tables and their sequences, in ``public`` (made by ``api migrate``).
RESULT_TABLES = ("celery_taskmeta", "celery_tasksetmeta")
RESULT_SEQUENCES = ("task_id_sequence", "taskset_id_sequence")


@dataclass(frozen=True)
class Grant:
    """``privileges`` on ``objects`` (tables, or sequences) of one schema to ``role``."""

    role: str
    privileges: str
    objects: tuple[str, ...]
    kind: str = "TABLE"


def _view_reads(schema: str) -> tuple[Grant, ...]:
    """``SELECT`` on each of ``schema``'s published views to the roles that read it."""
    readers = sorted({reader for view in VIEWS if view.schema == schema for reader in view.readers})
    return tuple(
        Grant(
            reader,
            "SELECT",
            tuple(v.name for v in VIEWS if v.schema == schema and reader in v.readers),
        )
        for reader in readers
    )


#: What each schema's migrations grant to the other services' roles: ``SELECT`` on the
#: views the schema publishes (:data:`contracts.views.VIEWS`), nothing on its tables.
#: ``public`` is Celery's result tables: not a service's private tables but the result
#: backend's own published format (Celery's models, at the version the lock pins), made
#: and owned by ``api migrate``, which grants them: the API writes them too (cancel
#: marks, chord groups) and its intake deletes expired results; the workers store their
#: results; the email worker reads groups (it runs ``celery.chord_unlock``).
READS: Mapping[str, tuple[Grant, ...]] = {
    **{schema: _view_reads(schema) for schema in SERVICE_ROLES},
    "public": (
        Grant(API, "SELECT, INSERT, UPDATE, DELETE", RESULT_TABLES),
        Grant(API, "USAGE, SELECT", RESULT_SEQUENCES, "SEQUENCE"),
        Grant(EMAIL_WORKER, "SELECT, INSERT, UPDATE", ("celery_taskmeta",)),
        Grant(EMAIL_WORKER, "SELECT", ("celery_tasksetmeta",)),
        Grant(EMAIL_WORKER, "USAGE, SELECT", ("task_id_sequence",), "SEQUENCE"),
        Grant(REPORT_WORKER, "SELECT, INSERT, UPDATE", ("celery_taskmeta",)),
        Grant(REPORT_WORKER, "USAGE, SELECT", ("task_id_sequence",), "SEQUENCE"),
    ),
}


class DatabaseRoleSettings(PlatformSettings):
    """``api db-roles``: ``DATABASE_URL`` is the admin's; each role's optional password
    (``DATABASE_PASSWORD_<ROLE>``; unset: the role has none, for trust or peer auth)."""

    database_password_api: SecretStr | None = Field(default=None)
    database_password_email_worker: SecretStr | None = Field(default=None)
    database_password_report_worker: SecretStr | None = Field(default=None)
    database_password_scheduler: SecretStr | None = Field(default=None)
    database_password_migrator: SecretStr | None = Field(default=None)

    def passwords(self) -> dict[str, str]:
        """``{role: password}`` for the roles given one."""
        given = {role: getattr(self, f"database_password_{role}") for role in ROLES}
        return {role: secret.get_secret_value() for role, secret in given.items() if secret}


def role_url(database_url: str, role: str, password: str | None = None) -> str:
    """``database_url`` with ``role`` (and ``password``, else none) as its user."""
    scheme, rest = database_url.split("://", 1)
    location = rest.rsplit("@", 1)[1] if "@" in rest else rest
    user = f"{role}:{password}" if password else role
    return f"{scheme}://{user}@{location}"


# -- bootstrap: as the admin -------------------------------------------------------------

#: Serializes two bootstraps of one database (advisory locks are per database; roles are
#: cluster-wide, so creating them relies on catching the duplicate instead).
BOOTSTRAP_LOCK = 0x726F_6C65  # "role"

_UNPRIVILEGED = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
#: Two sessions creating or altering one role at once: one of them gets one of these.
_RACES = (errors.DuplicateObject, errors.UniqueViolation, errors.InternalError_)


def bootstrap(admin_url: str, passwords: Mapping[str, str] | None = None) -> None:
    """Make every role exist, unprivileged, and give the migration role the database.

    Idempotent; safe while another session bootstraps this or another database.
    """
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for role in ROLES:
            _ensure_role(conn, role, (passwords or {}).get(role))
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (BOOTSTRAP_LOCK,))
            _grant_database(conn)
            _adopt(conn)


def _ensure_role(conn: psycopg.Connection[Any], role: str, password: str | None) -> None:
    name = sql.Identifier(role)
    for attempt in range(20):
        try:
            with conn.transaction():
                row = conn.execute(
                    "SELECT rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication"
                    " OR rolbypassrls OR NOT rolcanlogin FROM pg_roles WHERE rolname = %s",
                    (role,),
                ).fetchone()
                if row is None:
                    conn.execute(sql.SQL("CREATE ROLE {} " + _UNPRIVILEGED).format(name))
                elif row[0]:
                    conn.execute(sql.SQL("ALTER ROLE {} " + _UNPRIVILEGED).format(name))
                if password is not None:
                    conn.execute(
                        sql.SQL("ALTER ROLE {} PASSWORD {}").format(name, sql.Literal(password))
                    )
            return
        except _RACES:
            time.sleep(0.05 * (attempt + 1))
    raise RuntimeError(f"could not create or update the database role {role!r}")


def _grant_database(conn: psycopg.Connection[Any]) -> None:
    row = conn.execute("SELECT current_database()").fetchone()
    assert row is not None
    database = sql.Identifier(row[0])
    conn.execute(sql.SQL("GRANT CONNECT, CREATE ON DATABASE {} TO migrator").format(database))
    for role in SERVICE_ROLES:
        conn.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(database, sql.Identifier(role))
        )
    # Before PostgreSQL 15 everyone could create tables in public; only migrations may.
    conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    conn.execute("GRANT USAGE, CREATE ON SCHEMA public TO migrator")


#: An older deployment migrated as the admin, which owns its schemas: this hands their
#: objects to the migration role (linked sequences follow their table).
_NOT_OURS = """
SELECT kind, name FROM (
    SELECT 1 AS pass, 'SCHEMA' AS kind, quote_ident(n.nspname) AS name
    FROM pg_namespace AS n WHERE n.nspname = ANY(%(schemas)s) AND n.nspowner <> %(owner)s
    UNION ALL
    SELECT 2, CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
               WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, c.oid::regclass::text
    FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND c.relowner <> %(owner)s
      AND (n.nspname = ANY(%(schemas)s)
           OR (n.nspname = 'public' AND c.relname = ANY(%(public)s)))
      AND NOT EXISTS (SELECT FROM pg_depend AS d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
    UNION ALL
    SELECT 3, 'FUNCTION', p.oid::regprocedure::text
    FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
    WHERE n.nspname = ANY(%(schemas)s) AND p.proowner <> %(owner)s
) AS found ORDER BY pass
"""


def _adopt(conn: psycopg.Connection[Any]) -> None:
    row = conn.execute("SELECT oid FROM pg_roles WHERE rolname = %s", (MIGRATOR,)).fetchone()
    assert row is not None
    params = {
        "schemas": list(SERVICE_ROLES),
        "owner": row[0],
        "public": [*RESULT_TABLES, *RESULT_SEQUENCES],
    }
    for kind, name in conn.execute(_NOT_OURS, params).fetchall():
        conn.execute(sql.SQL(f"ALTER {kind} {name} OWNER TO migrator"))


# -- grants: by each service's migrations ------------------------------------------------


def grant_schema(connection: Connection, schema: str) -> None:
    """Grant what :data:`READS` and the schema's own role say, after revoking the rest.

    Run by ``<service> migrate`` in its migration's transaction, as the schema's owner.
    A role that does not exist (a database nobody bootstrapped: everything runs as one
    user) is skipped: it cannot connect, so there is nothing to grant it.
    """
    existing = set(
        connection.execute(
            text("SELECT rolname FROM pg_roles WHERE rolname = ANY(:roles)"),
            {"roles": list(SERVICE_ROLES)},
        ).scalars()
    )
    for statement in grant_statements(schema, existing):
        connection.execute(text(statement))


def grant_statements(schema: str, existing: set[str]) -> list[str]:
    """The statements :func:`grant_schema` runs for ``schema``, given the roles that
    exist."""
    others = sorted(existing - {schema})
    statements: list[str] = []
    if schema == "public":
        tables = ", ".join(f"public.{table}" for table in RESULT_TABLES)
        sequences = ", ".join(f"public.{sequence}" for sequence in RESULT_SEQUENCES)
        for role in sorted(existing):
            statements += [
                f"REVOKE ALL ON {tables} FROM {role}",
                f"REVOKE ALL ON SEQUENCE {sequences} FROM {role}",
            ]
    else:
        for role in others:
            statements += [
                f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}",
                f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {role}",
                f"REVOKE ALL ON SCHEMA {schema} FROM {role}",
            ]
        if schema in existing:
            statements += [
                f"GRANT USAGE ON SCHEMA {schema} TO {schema}",
                f"GRANT {OWN_TABLES} ON ALL TABLES IN SCHEMA {schema} TO {schema}",
                f"GRANT {OWN_SEQUENCES} ON ALL SEQUENCES IN SCHEMA {schema} TO {schema}",
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema}"
                f" GRANT {OWN_TABLES} ON TABLES TO {schema}",
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema}"
                f" GRANT {OWN_SEQUENCES} ON SEQUENCES TO {schema}",
            ]
    for grant in READS.get(schema, ()):
        if grant.role not in existing:
            continue
        if schema != "public":
            statements.append(f"GRANT USAGE ON SCHEMA {schema} TO {grant.role}")
        objects = ", ".join(f"{schema}.{name}" for name in grant.objects)
        statements.append(f"GRANT {grant.privileges} ON {grant.kind} {objects} TO {grant.role}")
    return statements
