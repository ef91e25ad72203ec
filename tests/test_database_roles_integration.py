"""Each service's PostgreSQL role holds only what its service uses, on the real database.

The session's database was bootstrapped by ``api db-roles`` and migrated as the
migration role (``migrated``), exactly as compose does it; here each role tries what it
must not do, connected as itself.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import errors, sql

from contracts.views import VIEWS
from switchyard_runtime.database_roles import (
    MIGRATOR,
    READS,
    RESULT_SEQUENCES,
    RESULT_TABLES,
    ROLES,
    SERVICE_ROLES,
    bootstrap,
    role_url,
)
from tests.support import processes
from tests.support.infra import fresh_database, with_database
from tests.support.private_instances import private_postgres

SCHEMAS = SERVICE_ROLES  # each service's schema is named as its role
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


def tables_of(admin_url: str, schema: str) -> list[tuple[str, str]]:
    """``(qualified name, first column)`` of every table in ``schema``."""
    with psycopg.connect(admin_url) as conn:
        rows = conn.execute(
            "SELECT c.oid::regclass::text, a.attname FROM pg_class AS c"
            " JOIN pg_namespace AS n ON n.oid = c.relnamespace"
            " JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum = 1"
            " WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY 1",
            (schema,),
        ).fetchall()
    return [(name, column) for name, column in rows]


def refused(url: str, statement: sql.SQL | sql.Composed) -> bool:
    """Whether running ``statement`` as the user of ``url`` is refused for privileges."""
    with psycopg.connect(url) as conn:
        try:
            conn.execute(statement)
        except errors.InsufficientPrivilege:
            return True
        finally:
            conn.rollback()
    return False


def test_no_role_is_privileged_or_a_member_of_another(migrated: dict[str, str]) -> None:
    with psycopg.connect(migrated["DATABASE_URL"]) as conn:
        rows = conn.execute(
            "SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolreplication,"
            " rolbypassrls, rolcanlogin,"
            " (SELECT count(*) FROM pg_auth_members AS m WHERE m.member = r.oid)"
            " FROM pg_roles AS r WHERE rolname = ANY(%s) ORDER BY rolname",
            (list(ROLES),),
        ).fetchall()
    assert {row[0] for row in rows} == set(ROLES)
    for name, *privileged, login, memberships in rows:
        assert not any(privileged), f"{name} holds a role attribute"
        assert login, f"{name} cannot log in"
        assert memberships == 0, f"{name} is a member of another role"


def test_the_migration_role_owns_every_schema_and_no_service_owns_anything(
    migrated: dict[str, str],
) -> None:
    with psycopg.connect(migrated["DATABASE_URL"]) as conn:
        owners: dict[str, str] = dict(
            conn.execute(
                "SELECT nspname, nspowner::regrole::text FROM pg_namespace WHERE nspname = ANY(%s)",
                (list(SCHEMAS),),
            ).fetchall()
        )
        owned = conn.execute(
            "SELECT r.rolname, count(*) FILTER (WHERE c.oid IS NOT NULL)"
            " + (SELECT count(*) FROM pg_namespace AS n WHERE n.nspowner = r.oid)"
            " FROM pg_roles AS r LEFT JOIN pg_class AS c ON c.relowner = r.oid"
            " WHERE r.rolname = ANY(%s) GROUP BY r.rolname, r.oid",
            (list(SERVICE_ROLES),),
        ).fetchall()
        celery_owners = conn.execute(
            "SELECT DISTINCT relowner::regrole::text FROM pg_class WHERE relname = ANY(%s)",
            ([*RESULT_TABLES, *RESULT_SEQUENCES],),
        ).fetchall()
    assert owners == dict.fromkeys(SCHEMAS, MIGRATOR)
    assert dict(owned) == dict.fromkeys(SERVICE_ROLES, 0)
    assert celery_owners == [(MIGRATOR,)]


@pytest.mark.parametrize("role", SERVICE_ROLES)
def test_a_role_cannot_write_another_services_tables(
    migrated: dict[str, str], database_roles: dict[str, str], role: str
) -> None:
    admin, url = migrated["DATABASE_URL"], database_roles[role]
    others = [schema for schema in SCHEMAS if schema != role]
    tried = 0
    for schema in others:
        for table, column in tables_of(admin, schema):
            name, col = sql.SQL(table), sql.Identifier(column)
            for statement in (
                sql.SQL("INSERT INTO {} DEFAULT VALUES").format(name),
                sql.SQL("UPDATE {} SET {} = {} WHERE false").format(name, col, col),
                sql.SQL("DELETE FROM {} WHERE false").format(name),
                sql.SQL("TRUNCATE {}").format(name),
            ):
                assert refused(url, statement), f"{role} may run: {statement.as_string()}"
                tried += 1
    assert tried >= 4 * 3, "the other services' tables were not found"


@pytest.mark.parametrize("role", SERVICE_ROLES)
def test_a_role_reads_no_other_services_table_only_its_published_views(
    migrated: dict[str, str], database_roles: dict[str, str], role: str
) -> None:
    """Cross-service reads go through the owners' versioned views (``contracts.views``):
    every table of another schema is refused, every view declared for the role answers."""
    admin, url = migrated["DATABASE_URL"], database_roles[role]
    tables = [t for schema in SCHEMAS if schema != role for t, _ in tables_of(admin, schema)]
    assert len(tables) >= 7, "the other services' tables were not found"
    for table in tables:
        statement = sql.SQL("SELECT 1 FROM {} LIMIT 1").format(sql.SQL(table))
        assert refused(url, statement), f"{role} may read the table {table}"
    readable = [view for view in VIEWS if role in view.readers]
    assert bool(readable) is (role != "scheduler")
    for view in readable:
        statement = sql.SQL("SELECT * FROM {} LIMIT 1").format(sql.SQL(view.qualified))
        assert not refused(url, statement), f"{role} may not read {view.qualified}"


@pytest.mark.parametrize("role", SERVICE_ROLES)
def test_only_the_api_reads_the_key_hashes(database_roles: dict[str, str], role: str) -> None:
    statement = sql.SQL("SELECT key_hash FROM api.api_keys LIMIT 1")
    assert refused(database_roles[role], statement) is (role != "api")


@pytest.mark.parametrize("role", SERVICE_ROLES)
def test_a_role_creates_nothing(database_roles: dict[str, str], role: str) -> None:
    url = database_roles[role]
    for statement in (
        f"CREATE SCHEMA made_by_{role}",
        f"CREATE TABLE public.made_by_{role} (n int)",
        f"CREATE TABLE {role}.made_by_{role} (n int)",
        f"CREATE FUNCTION public.made_by_{role}() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    ):
        assert refused(url, sql.SQL(statement)), f"{role} may run: {statement}"


def held_privileges(admin_url: str, role: str) -> set[tuple[str, str]]:
    """``(table, privilege)`` that ``role`` holds on every table of the platform."""
    with psycopg.connect(admin_url) as conn:
        rows = conn.execute(
            "SELECT c.oid::regclass::text, p.privilege FROM pg_class AS c"
            " JOIN pg_namespace AS n ON n.oid = c.relnamespace"
            " CROSS JOIN unnest(%(privileges)s::text[]) AS p(privilege)"
            " WHERE c.relkind IN ('r', 'p', 'v')"
            "   AND (n.nspname = ANY(%(schemas)s)"
            "        OR (n.nspname = 'public' AND c.relname = ANY(%(results)s)))"
            "   AND has_table_privilege(%(role)s, c.oid, p.privilege)",
            {
                "privileges": list(TABLE_PRIVILEGES),
                "schemas": list(SCHEMAS),
                "results": list(RESULT_TABLES),
                "role": role,
            },
        ).fetchall()
    return {(table, privilege) for table, privilege in rows}


@pytest.mark.parametrize("role", SERVICE_ROLES)
def test_outside_its_schema_a_role_holds_exactly_the_declared_grants(
    migrated: dict[str, str], role: str
) -> None:
    """Outside its schema: ``SELECT`` on exactly the views declared for it, and what the
    result backend's tables need."""
    declared = {
        (f"{schema}.{table}".removeprefix("public."), privilege.strip())
        for schema, grants in READS.items()
        for grant in grants
        if grant.role == role and grant.kind == "TABLE"
        for table in grant.objects
        for privilege in grant.privileges.split(",")
    }
    held = {
        (table, privilege)
        for table, privilege in held_privileges(migrated["DATABASE_URL"], role)
        if not table.startswith(f"{role}.")
    }
    assert held == declared
    own = {p for t, p in held_privileges(migrated["DATABASE_URL"], role) if t.startswith(role)}
    assert own == {"SELECT", "INSERT", "UPDATE", "DELETE"}


def test_a_database_migrated_as_the_admin_is_handed_to_the_migration_role(
    migrated: dict[str, str], database_roles: dict[str, str]
) -> None:
    """An older deployment (every service migrated as the admin) takes the roles: the
    bootstrap hands its schemas to the migration role, and migrating again works."""
    with fresh_database(migrated["DATABASE_URL"], prefix="roles_older") as older:
        as_admin = {**migrated, "DATABASE_URL": older}
        services = ("api", "email-worker", "report-worker", "scheduler")
        for service in services:
            processes.run([service, "migrate"], as_admin)
        processes.run(["api", "db-roles"], as_admin)
        name = urllib.parse.urlsplit(older).path.lstrip("/")
        as_migrator = {**migrated, "DATABASE_URL": with_database(database_roles[MIGRATOR], name)}
        for service in services:
            processes.run([service, "migrate"], as_migrator)
        with psycopg.connect(older) as conn:
            foreign = conn.execute(
                "SELECT c.oid::regclass::text, c.relowner::regrole::text FROM pg_class AS c"
                " JOIN pg_namespace AS n ON n.oid = c.relnamespace"
                " WHERE (n.nspname = ANY(%(schemas)s) OR c.relname = ANY(%(results)s))"
                "   AND c.relkind IN ('r', 'p', 'S', 'v') AND c.relowner::regrole::text <> %(m)s"
                " UNION ALL SELECT p.oid::regprocedure::text, p.proowner::regrole::text"
                " FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace"
                " WHERE n.nspname = ANY(%(schemas)s) AND p.proowner::regrole::text <> %(m)s",
                {
                    "schemas": list(SCHEMAS),
                    "results": [*RESULT_TABLES, *RESULT_SEQUENCES],
                    "m": MIGRATOR,
                },
            ).fetchall()
        assert foreign == []
        assert held_privileges(older, "email_worker") == held_privileges(
            migrated["DATABASE_URL"], "email_worker"
        )


@contextmanager
def _cluster(tmp_path: Path) -> Iterator[str]:
    with private_postgres(tmp_path) as server:
        yield server.url


def test_bootstraps_at_once_on_a_server_without_the_roles_all_succeed(tmp_path: Path) -> None:
    """Roles are the server's: sessions bootstrapping their databases at the same moment
    race to create them, and every one of them must succeed."""
    with _cluster(tmp_path) as url:
        names = [f"db{n}" for n in range(4)]
        with psycopg.connect(url, autocommit=True) as conn:
            for name in names:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        targets = [with_database(url, name) for name in names for _ in range(2)]
        barrier = threading.Barrier(len(targets))
        failures: list[BaseException] = []

        def run(target: str) -> None:
            barrier.wait()
            try:
                bootstrap(target)
            except BaseException as error:
                failures.append(error)

        threads = [threading.Thread(target=run, args=(target,)) for target in targets]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert failures == []
        with psycopg.connect(url) as conn:
            made = conn.execute(
                "SELECT rolname, rolsuper FROM pg_roles WHERE rolname = ANY(%s)", (list(ROLES),)
            ).fetchall()
        assert sorted(made) == sorted((role, False) for role in ROLES)
        for name in names:
            with psycopg.connect(role_url(with_database(url, name), MIGRATOR)) as conn:
                conn.execute("CREATE SCHEMA api")
                conn.execute("CREATE TABLE public.celery_probe (n int)")
