"""The scheduler's leadership lock and beat state, on a real PostgreSQL.

As the scheduler runs behind PgBouncer (``conftest.pooled``): ``DATABASE_URL`` through
it in transaction mode, the leadership on ``DATABASE_SESSION_URL``, direct. The last
tests show why the leadership cannot take the pooled URL."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select

from scheduler.leader import Leadership, LeadershipLost, last_run, leader_engine, load_state, record
from switchyard_runtime.settings import PlatformSettings
from tests.support.pgbouncer import PrivatePgBouncer, behind, pooled_settings, private_pgbouncer

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 23, 6, 0, 0, 500000, tzinfo=UTC)


def acquired_within(leadership: Leadership, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not leadership.try_acquire():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.fixture
def engine(
    migrated: dict[str, str], database_roles: dict[str, str], pooler: PrivatePgBouncer
) -> Iterator[Engine]:
    # What the scheduler's beat builds from its settings (scheduler.beat), on its own role.
    url = pooled_settings(behind(pooler, database_roles["scheduler"])).sync_session_database_url
    engine = leader_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def key() -> int:
    """A lock key of this test's own, so no running scheduler is disturbed."""
    return random.randint(1, 2**62)


def test_one_session_leads_and_another_takes_over_once_it_is_released(
    engine: Engine, key: int
) -> None:
    first, second = Leadership(engine, key), Leadership(engine, key)
    assert first.try_acquire()
    assert not second.try_acquire()
    assert not second.try_acquire()  # asking again (every second) changes nothing
    first.check()
    first.release()
    assert not first.held
    assert second.try_acquire()
    assert not first.try_acquire()
    second.release()


def test_a_leader_whose_session_ends_finds_out_at_its_next_check(engine: Engine, key: int) -> None:
    leader, standby = Leadership(engine, key), Leadership(engine, key)
    assert leader.try_acquire()
    pid = leader.connection.scalar(select(func.pg_backend_pid()))
    with engine.connect() as admin:
        assert admin.scalar(select(func.pg_terminate_backend(pid)))
    # The database frees the lock as the session ends: the standby leads at a next try.
    assert acquired_within(standby, seconds=5)
    with pytest.raises(LeadershipLost):
        leader.check()
    leader.lose()
    with pytest.raises(LeadershipLost):
        _ = leader.connection
    assert not leader.try_acquire()
    standby.release()


def test_a_schedule_seen_first_starts_from_now_and_ticks_are_recorded_forward_only(
    engine: Engine, key: int
) -> None:
    name = f"test_{uuid.uuid4().hex[:12]}"
    leadership = Leadership(engine, key)
    assert leadership.try_acquire()
    conn = leadership.connection
    assert load_state(conn, [name], NOW) == {name: NOW}
    assert load_state(conn, [name], NOW + timedelta(hours=1)) == {name: NOW}  # kept
    tick = NOW + timedelta(seconds=1.5)
    assert record(conn, name, tick, tick)
    assert not record(conn, name, tick, tick)  # the same tick twice
    assert not record(conn, name, tick - timedelta(seconds=2), tick)  # an older one
    assert last_run(conn, name) == tick
    assert last_run(conn, "no_such_schedule") is None
    leadership.release()


def test_through_a_transaction_pooler_the_leadership_is_refused_at_login(
    pooled: dict[str, str], key: int
) -> None:
    # PgBouncer 1.18 refuses the session options the leader's connection sets (its
    # statement timeout, TCP keepalives): a scheduler given the pooled URL never leads.
    url = PlatformSettings(database_url=pooled["DATABASE_URL"]).sync_database_url
    engine = leader_engine(url)
    try:
        assert not Leadership(engine, key).try_acquire()
    finally:
        engine.dispose()


def test_a_session_lock_through_transaction_pooling_is_held_by_two_leaders(
    migrated: dict[str, str], key: int, tmp_path: Path
) -> None:
    # Without those options it connects, and is worse: the lock stays on the server
    # connection that ran the statement, and whichever client PgBouncer hands that
    # connection next "takes" it too (one server connection, so every time here).
    with private_pgbouncer(migrated["DATABASE_URL"], tmp_path, pool_size=1) as pgbouncer:
        url = PlatformSettings(database_url=pgbouncer.url(migrated["DATABASE_URL"]))
        engine = create_engine(url.sync_database_url, connect_args={"prepare_threshold": None})
        try:
            first, second = Leadership(engine, key), Leadership(engine, key)
            assert first.try_acquire()
            assert second.try_acquire()  # two leaders: ticks sent twice
            first.release()
            second.release()
        finally:
            engine.dispose()
