"""The scheduler's leadership lock and beat state, on a real PostgreSQL."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from contracts import PlatformSettings
from scheduler.leader import Leadership, LeadershipLost, last_run, leader_engine, load_state, record

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
def engine(migrated: dict[str, str], database_roles: dict[str, str]) -> Iterator[Engine]:
    # The scheduler's own role, as it runs.
    url = PlatformSettings(database_url=database_roles["scheduler"]).sync_database_url
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
