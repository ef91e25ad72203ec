"""Leadership: one scheduler sends ticks, held by a PostgreSQL session advisory lock.

The lock lives on a dedicated connection: it is held exactly as long as that database
session lives. A leader that dies (even by ``kill -9``) ends its session and frees the
lock; a standby asks for it every second and takes over. TCP keepalives (both ends) and
a user timeout bound how long a leader cut off from the database keeps its session.

The same connection carries beat's state (:mod:`scheduler.tables`): before sending a
tick the leader reads the schedule's last tick through it, which also proves the
session, and with it the lock, is still there. Any error on it ends the leadership.
"""

from __future__ import annotations

import contextlib
from datetime import datetime

import structlog
from sqlalchemy import Connection, Engine, create_engine, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from scheduler.tables import entries

log = structlog.get_logger(__name__)

#: Advisory lock key of the leadership (one per database).
LEADER_LOCK = 0x6265_6174  # "beat"

#: Seconds of silence before TCP keepalives probe, between probes, and how many may fail;
#: and the longest unacknowledged send (milliseconds) before the connection is dropped.
KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_COUNT = 5, 2, 3
TCP_USER_TIMEOUT_MS = 10_000


class LeadershipLost(Exception):
    """The leader's database session failed or the lock is not ours any more."""


def leader_engine(url: str) -> Engine:
    """An engine for the one long-lived leadership connection (no pool)."""
    keepalives = (
        f"-c tcp_keepalives_idle={KEEPALIVE_IDLE} "
        f"-c tcp_keepalives_interval={KEEPALIVE_INTERVAL} "
        f"-c tcp_keepalives_count={KEEPALIVE_COUNT}"
    )
    return create_engine(
        url,
        poolclass=NullPool,
        connect_args={
            "application_name": "scheduler",
            "connect_timeout": 5,
            "keepalives": 1,
            "keepalives_idle": KEEPALIVE_IDLE,
            "keepalives_interval": KEEPALIVE_INTERVAL,
            "keepalives_count": KEEPALIVE_COUNT,
            "tcp_user_timeout": TCP_USER_TIMEOUT_MS,
            "options": f"-c timezone=UTC -c statement_timeout=5000 {keepalives}",
        },
    )


class Leadership:
    """Tries for the lock on a dedicated connection; holds it until released or lost."""

    def __init__(self, engine: Engine, key: int = LEADER_LOCK) -> None:
        self._engine = engine
        self._key = key
        self._conn: Connection | None = None
        self.held = False

    def try_acquire(self) -> bool:
        """Take the lock if it is free; ``False`` when another session holds it or the
        database cannot be reached (the caller tries again later)."""
        if self.held:
            return True
        try:
            if self._conn is None:
                self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            got = self._conn.scalar(select(func.pg_try_advisory_lock(self._key)))
        except DBAPIError as exc:
            log.warning("scheduler cannot reach the database", error=str(exc.orig))
            self._close()
            return False
        self.held = bool(got)
        return self.held

    @property
    def connection(self) -> Connection:
        """The leader's connection; raises :class:`LeadershipLost` when not the leader."""
        if not self.held or self._conn is None:
            raise LeadershipLost("not the leader")
        return self._conn

    def check(self) -> None:
        """Prove the session (and so the lock) is still there, or raise LeadershipLost."""
        try:
            self.connection.execute(text("SELECT 1"))
        except DBAPIError as exc:
            raise LeadershipLost(str(exc.orig)) from exc

    def lose(self) -> None:
        """Stop being the leader at once: the session is gone or cannot be trusted."""
        self.held = False
        self._close()

    def release(self) -> None:
        """Hand the lock over on shutdown, so a standby takes over at its next try."""
        if self.held and self._conn is not None:
            # Should the unlock fail, closing the session below frees the lock as well.
            with contextlib.suppress(DBAPIError):
                self._conn.scalar(select(func.pg_advisory_unlock(self._key)))
        self.held = False
        self._close()

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(DBAPIError):
                self._conn.close()
            self._conn = None


def load_state(conn: Connection, names: list[str], now: datetime) -> dict[str, datetime]:
    """Each schedule's last tick; a schedule seen for the first time starts from ``now``
    (its first tick is the next one, not one from the past)."""
    if names:
        conn.execute(
            insert(entries)
            .values([{"name": name, "last_run_at": now, "updated_at": now} for name in names])
            .on_conflict_do_nothing(index_elements=["name"])
        )
    rows = conn.execute(
        select(entries.c.name, entries.c.last_run_at).where(entries.c.name.in_(names))
    )
    return {row.name: row.last_run_at for row in rows}


def last_run(conn: Connection, name: str) -> datetime | None:
    """The schedule's last tick as stored (read right before sending the next)."""
    found: datetime | None = conn.scalar(
        select(entries.c.last_run_at).where(entries.c.name == name)
    )
    return found


def record(conn: Connection, name: str, tick: datetime, now: datetime) -> bool:
    """Store ``tick`` as sent; ``False`` when a later (or the same) tick already was."""
    result = conn.execute(
        update(entries)
        .where(entries.c.name == name, entries.c.last_run_at < tick)
        .values(last_run_at=tick, total_run_count=entries.c.total_run_count + 1, updated_at=now)
    )
    return result.rowcount == 1
