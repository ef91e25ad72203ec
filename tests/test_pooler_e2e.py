"""The session's services run through PgBouncer in transaction mode (``conftest.pooled``):
their pools are its clients, their sessions (LISTEN, leadership, claims) go to PostgreSQL
itself."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from api.workflows.notifications import STATUS_LOCK
from switchyard_runtime.database import pooled_engine
from tests.conftest import System
from tests.support.pgbouncer import clients, pooled_settings, servers
from tests.support.polling import wait_for_workflow

pytestmark = pytest.mark.e2e


def direct_sessions(system: System) -> list[tuple[str, int]]:
    """``(application_name, pid)`` of the database's sessions not opened by PgBouncer."""
    through = set(servers(system.pooled["DATABASE_URL"]))
    with psycopg.connect(system.env["DATABASE_URL"], autocommit=True) as conn:
        rows = conn.execute(
            "SELECT application_name, pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [(name, pid) for name, pid in rows if pid not in through]


def test_the_services_pools_are_clients_of_pgbouncer_and_their_sessions_are_direct(
    system: System, client: httpx.Client
) -> None:
    # Work through every pool: an email accepted (API), sent and stored (worker).
    accepted = client.post(
        "/v1/emails",
        json={"to": ["pooled@example.com"], "subject": "through pgbouncer", "text": "hi"},
    )
    assert accepted.status_code == 202, accepted.text
    document = wait_for_workflow(client, accepted.json()["workflow_id"])
    assert document["status"] == "succeeded", document

    names = {str(row["application_name"]) for row in clients(system.pooled["DATABASE_URL"])}
    assert {"api", "api-background"} <= names, names
    # LISTEN and the status leadership's lock need a session: never a pooler's client;
    # nor a worker's claim (a session lock held across the task, its state stored on it).
    assert not {"api-listener", "email-worker-claims"} & names, names

    direct = direct_sessions(system)
    assert "email-worker-claims" in {name for name, _ in direct}, direct
    listeners = [pid for name, pid in direct if name == "api-listener"]
    assert len(listeners) == 2, direct  # one per API server process (API_WORKERS=2)
    with psycopg.connect(system.env["DATABASE_URL"], autocommit=True) as conn:
        leader = conn.execute(
            "SELECT l.pid FROM pg_locks AS l JOIN pg_database AS d ON d.oid = l.database"
            " WHERE d.datname = current_database() AND l.locktype = 'advisory' AND l.granted"
            " AND l.classid = 0 AND l.objid = %s AND l.objsubid = 1",
            (STATUS_LOCK,),
        ).fetchall()
    # One leader, on one of the listeners' own sessions.
    assert len(leader) == 1 and leader[0][0] in listeners, (leader, listeners)


def test_a_pooled_engine_keeps_its_utc_session_zone_across_pgbouncers_server_connections(
    pooled: dict[str, str],
) -> None:
    # Another client's zone on the same server connections (one pool, its own SET).
    settings = pooled_settings(pooled)
    engine = pooled_engine(settings, "zone-test", pool_size=1)
    try:
        with (
            psycopg.connect(
                pooled["DATABASE_URL"], autocommit=True, prepare_threshold=None
            ) as other,
            engine.connect() as conn,
        ):
            other.execute("SET TIME ZONE 'Asia/Tokyo'")
            for _ in range(20):
                assert other.execute("SHOW timezone").fetchone() == ("Asia/Tokyo",)
                assert conn.exec_driver_sql("SHOW timezone").scalar() == "UTC"
                conn.commit()
    finally:
        engine.dispose()
