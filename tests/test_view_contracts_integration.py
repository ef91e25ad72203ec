"""The compatibility guard on the published views, against really migrated databases.

Every cross-service read goes through a view its owner declares (``contracts.views``)
and snapshots. Here the session's database (migrated as the migration role, as compose
does it) holds exactly those views with exactly the snapshotted columns; a migration
that changes a published version's columns fails ``python -m contracts.compat`` and
says to add the next version; a new version beside the old one passes once recorded.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from contracts import views
from contracts.views import VIEWS, View
from tests.support import processes
from tests.support.infra import fresh_database

SERVICES = ("api", "email-worker", "report-worker", "scheduler")

#: What a careless migration of the report worker could do to its published view: the
#: table's ``size`` renamed ``bytes``, the view redefined over it.
NARROWED = (
    "DROP VIEW report_worker.reports_v1;"
    " CREATE VIEW report_worker.reports_v1 AS SELECT id, tenant, kind, format, period_start,"
    " period_end, content_type, filename, size AS bytes, rows, sha256, created_at"
    " FROM report_worker.reports"
)
#: The right way: the old version untouched, a new one beside it.
V2 = View("report_worker", "reports_v2", ("api", "email_worker"))
ADD_V2 = (
    "CREATE VIEW report_worker.reports_v2 AS SELECT id, tenant, kind, format, period_start,"
    " period_end, content_type, filename, size AS bytes, rows, sha256, task_id, created_at"
    " FROM report_worker.reports"
)


def compat(database_url: str) -> subprocess.CompletedProcess[str]:
    """``python -m contracts.compat --database-url`` as CI runs it, from the installed
    package."""
    return subprocess.run(
        [sys.executable, "-m", "contracts.compat", "--database-url", database_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def scratch(migrated: dict[str, str]) -> Iterator[str]:
    """A database of this module's own, every service migrated, to change views in."""
    with fresh_database(migrated["DATABASE_URL"], prefix="views") as url:
        for service in SERVICES:
            processes.run([service, "migrate"], {**migrated, "DATABASE_URL": url})
        yield url


def test_the_migrated_database_holds_exactly_the_declared_views_as_snapshotted(
    migrated: dict[str, str],
) -> None:
    with psycopg.connect(migrated["DATABASE_URL"]) as conn:
        live = views.live_columns(conn)
    assert set(live) == {view.qualified for view in VIEWS}
    assert views.view_problems(VIEWS, views.load_view_snapshots(), live) == ([], [])
    assert views.stale_view_snapshots(VIEWS, live) == []
    result = compat(migrated["DATABASE_URL"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_migration_changing_a_published_views_columns_fails_and_asks_for_v2(
    scratch: str,
) -> None:
    with psycopg.connect(scratch) as conn:
        conn.execute(NARROWED)
        conn.commit()
    try:
        result = compat(scratch)
        assert result.returncode == 1
        assert "report_worker.reports_v1: its columns changed" in result.stdout
        assert "size bigint" in result.stdout and "bytes bigint" in result.stdout
        assert "add report_worker.reports_v2 beside it" in result.stdout
        # --update refuses it too: a published version is never re-recorded.
        update = subprocess.run(
            [sys.executable, "-m", "contracts.compat", "--update", "--database-url", scratch],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert update.returncode == 1
        assert "add report_worker.reports_v2" in update.stdout
    finally:
        with psycopg.connect(scratch) as conn:
            conn.execute(
                "DROP VIEW report_worker.reports_v1;"
                " CREATE VIEW report_worker.reports_v1 AS SELECT id, tenant, kind, format,"
                " period_start, period_end, content_type, filename, size, rows, sha256,"
                " created_at FROM report_worker.reports"
            )
            conn.commit()
    assert compat(scratch).returncode == 0


def test_an_undeclared_view_in_a_service_schema_fails(scratch: str) -> None:
    with psycopg.connect(scratch) as conn:
        conn.execute("CREATE VIEW api.keys_v1 AS SELECT tenant FROM api.api_keys")
        conn.commit()
    try:
        result = compat(scratch)
        assert result.returncode == 1
        assert "api.keys_v1: a view no contract declares" in result.stdout
    finally:
        with psycopg.connect(scratch) as conn:
            conn.execute("DROP VIEW api.keys_v1")
            conn.commit()


def test_a_new_version_beside_the_old_one_passes_once_recorded(
    scratch: str, tmp_path: Path
) -> None:
    snapshots = tmp_path / "views"
    with psycopg.connect(scratch) as conn:
        views.write_view_snapshots(VIEWS, views.live_columns(conn), snapshots)
        conn.execute(ADD_V2)
        try:
            live = views.live_columns(conn)
            declared = (*VIEWS, V2)
            recorded = views.load_view_snapshots(snapshots)
            assert views.view_problems(declared, recorded, live) == (
                [],
                ["report_worker.reports_v2: a new version, not yet snapshotted"],
            )
            views.write_view_snapshots(declared, live, snapshots)
            recorded = views.load_view_snapshots(snapshots)
            assert views.view_problems(declared, recorded, live) == ([], [])
            assert ("bytes", "bigint") in recorded[V2.qualified]
            assert recorded["report_worker.reports_v1"] == live["report_worker.reports_v1"]
        finally:
            conn.rollback()
