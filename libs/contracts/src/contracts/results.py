"""Celery's database result backend, pooled, in one statement per state change.

Same tables and encoding as Celery's ``DatabaseBackend`` (``AsyncResult`` works as usual),
with what the platform needs on top:

- **One round trip per write.** A state is stored with one ``INSERT ... ON CONFLICT``
  instead of Celery's select, select-for-update, write and commit; a SUCCESS is never
  written over, and a late STARTED, RETRY or progress update never replaces a REVOKED
  mark (a cancelled step stays cancelled).
- **Pooled in every pool type.** Celery pools its engine only in forked prefork
  children (elsewhere it opens a connection per call); this backend keeps one pooled
  engine per process, made afresh in a forked child.
- **One run of a task id at a time** (:meth:`ResultBackend.claim`). Before a contract
  task runs, one statement takes a session advisory lock on its id and stores STARTED,
  unless the task is REVOKED or already succeeded. The lock is held on a connection kept
  for the task, outside any transaction, until its final state is stored, so a second
  copy of the message (at-least-once publishing) waits, then finds the SUCCESS. A worker
  that dies loses its connection, and the lock with it.
- **Rows committed with the outcome** (:meth:`ResultBackend.commit_with_outcome`): a task
  hands over its own rows (the email worker's delivery record), which are written by the
  same statement that stores its next state, atomically with it.
- **Where a step belongs.** ``workflow_id`` (from the message's headers) and the time
  the task first started, ``date_started``, are stored in two more nullable columns.
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from celery import states
from celery.backends.database import DatabaseBackend
from celery.backends.database.models import TaskExtended
from kombu.utils.encoding import ensure_bytes
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.dml import Insert, Update

T = TypeVar("T")

#: States that must not replace a REVOKED mark: the task has not really run yet.
NOT_AFTER_REVOKE = (states.STARTED, states.RETRY, states.RECEIVED, "PROGRESS")

#: The states that end one run of a task (and release its claim).
RUN_ENDS = frozenset({*states.READY_STATES, states.RETRY})


class TaskRecord(TaskExtended):
    """``celery_taskmeta`` with the time of the first start and the step's workflow."""

    __tablename__ = "celery_taskmeta"
    __table_args__ = {"extend_existing": True}  # noqa: RUF012 (SQLAlchemy's own convention)

    date_started = sa.Column(sa.DateTime(timezone=True), nullable=True)
    workflow_id = sa.Column(sa.String(64), nullable=True)


#: Every backend instance (Celery makes one per thread): closing an app closes theirs.
_BACKENDS: weakref.WeakSet[ResultBackend] = weakref.WeakSet()


def close_connections(app: Any) -> None:
    """Close the database connections of every result backend of ``app``."""
    for backend in list(_BACKENDS):
        if cast(Any, backend).app is app:
            backend.dispose()


class Claim(Enum):
    """What :meth:`ResultBackend.claim` found."""

    RUN = "run"  # stored STARTED: this copy runs the task
    REVOKED = "revoked"  # cancelled before it started: skip it
    SUCCEEDED = "succeeded"  # another copy already succeeded: skip it


def _lock_key(task_id: Any) -> sa.ColumnElement[Any]:
    return sa.func.hashtextextended(sa.cast(task_id, sa.Text), 0)


def _run_of(task_id: str) -> tuple[str, int]:
    """A run of a task: the task runs in one thread, its states are stored from it."""
    return task_id, threading.get_ident()


def _header(request: Any, name: str) -> Any:
    if request is None:
        return None
    value = getattr(request, name, None)
    if value is None and isinstance(getattr(request, "headers", None), dict):
        value = request.headers.get(name)
    return value


class ResultBackend(DatabaseBackend):
    """The database backend, pooled, with claims, ``workflow_id`` and ``date_started``."""

    # Set by Celery's DatabaseBackend and BaseBackend (the type stubs do not list them).
    url: str
    engine_options: dict[str, Any]
    session_manager: Any
    max_retries: int
    base_sleep_between_retries_ms: int
    max_sleep_between_retries_ms: int

    def __init__(self, url: str | None = None, **kwargs: Any) -> None:
        if url is None:
            # Installed as the app's backend class, Celery passes no URL: take the
            # configured ``db+postgresql...`` result_backend and drop Celery's prefix.
            configured = str(kwargs["app"].conf.result_backend or "")
            url = configured.removeprefix("db+") or None
        # Before Celery's constructor: with database_create_tables_at_setup it connects.
        self._guard = threading.Lock()
        self._engine: Engine | None = None
        self._engine_pid: int | None = None
        self._sessions: sessionmaker[Session] | None = None
        #: Connections holding a run's claim (its advisory lock), by task id and the
        #: thread running it: two copies of one task may run in two threads at once.
        self._claimed: dict[tuple[str, int], Connection] = {}
        #: Rows to write with a run's next stored state, keyed the same way.
        self._pending: dict[tuple[str, int], list[Insert | Update]] = {}
        super().__init__(url=url, **kwargs)
        self.task_cls = TaskRecord
        _BACKENDS.add(self)

    # --- connections ---------------------------------------------------------------

    def engine(self) -> Engine:
        """This process's pooled engine; a forked child makes its own."""
        with self._guard:
            pid = os.getpid()
            if self._engine is None or self._engine_pid != pid:
                if self._engine is not None:
                    # Inherited from the parent: forget its connections, never close
                    # them (the parent still talks on those sockets).
                    self._engine.dispose(close=False)
                    self._claimed.clear()
                # Autocommit: each write is one statement, its own transaction, with no
                # BEGIN or COMMIT round trips around it.
                options = {"isolation_level": "AUTOCOMMIT", **self.engine_options}
                self._engine = create_engine(self.url, **options)
                self._engine_pid = pid
                self._sessions = None
            return self._engine

    def ResultSession(self, session_manager: Any = None) -> Session:
        """A session on the pooled engine (Celery's own queries: groups, clean-up...)."""
        engine = self.engine()
        if self._sessions is None:
            self.session_manager.prepare_models(engine)
            self._sessions = sessionmaker(bind=engine)
        return self._sessions()

    def dispose(self) -> None:
        """Close this process's connections (the app is closing)."""
        with self._guard:
            if self._engine is not None and self._engine_pid == os.getpid():
                self._engine.dispose()
            self._engine = None
            self._claimed.clear()

    def on_backend_retryable_error(self, exc: Exception) -> None:
        # The database restarted or a connection broke: start over with fresh ones. A
        # statement that merely failed leaves the connections (and the claims) be.
        if isinstance(exc, OperationalError | InterfaceError) or (
            isinstance(exc, DBAPIError) and exc.connection_invalidated
        ):
            self.dispose()

    def _autocommit(self) -> Connection:
        # The engine is in autocommit: every statement is its own transaction.
        return self.engine().connect()

    def _patiently(self, operation: Callable[[], T]) -> T:
        """Run ``operation`` again while the database cannot be reached, as Celery's own
        retries of a result write do (the same settings)."""
        retries = 0
        while True:
            try:
                return operation()
            except DBAPIError as exc:
                if not self.exception_safe_to_retry(exc) or retries >= self.max_retries:
                    raise
                self.on_backend_retryable_error(exc)
                ceiling = min(
                    self.max_sleep_between_retries_ms,
                    self.base_sleep_between_retries_ms * 2**retries,
                )
                time.sleep(random.uniform(0, ceiling) / 1000)
                retries += 1

    # --- claiming a run ------------------------------------------------------------

    def claim(self, task_id: str, request: Any) -> Claim:
        """Start a run of ``task_id``: wait for any other run of it, then store STARTED.

        One statement: the advisory lock, then the upsert, which skips a REVOKED or
        SUCCESS row. The connection (and the lock) stays with the task until its next
        final or RETRY state is stored, or :meth:`release`.
        """
        table = TaskRecord.__table__
        now = datetime.now(UTC)
        meta = {
            "status": states.STARTED,
            "result": ensure_bytes(
                self.encode({"pid": os.getpid(), "hostname": getattr(request, "hostname", None)})
            ),
            "date_done": now,
            "date_started": now,
            "name": getattr(request, "task", None),
            "worker": getattr(request, "hostname", None),
            "retries": getattr(request, "retries", None),
            "queue": (getattr(request, "delivery_info", None) or {}).get("routing_key"),
            "workflow_id": _header(request, "workflow_id"),
        }
        locked = sa.select(sa.func.pg_advisory_lock(_lock_key(task_id)).label("locked")).subquery()
        source = sa.select(
            sa.func.nextval("task_id_sequence"),
            sa.literal(task_id, sa.String),
            *(sa.literal(value, table.c[name].type) for name, value in meta.items()),
        ).select_from(locked)
        insert = pg_insert(table).from_select(["id", "task_id", *meta], source)
        statement = insert.on_conflict_do_update(
            index_elements=[table.c.task_id],
            set_={
                "status": insert.excluded.status,
                "result": insert.excluded.result,
                "date_done": insert.excluded.date_done,
                "worker": insert.excluded.worker,
                "retries": insert.excluded.retries,
                "queue": sa.func.coalesce(insert.excluded.queue, table.c.queue),
                "name": sa.func.coalesce(insert.excluded.name, table.c.name),
                "date_started": sa.func.coalesce(
                    table.c.date_started, insert.excluded.date_started
                ),
                "workflow_id": sa.func.coalesce(insert.excluded.workflow_id, table.c.workflow_id),
            },
            where=table.c.status.not_in([states.SUCCESS, states.REVOKED]),
        ).returning(table.c.status)

        def run() -> tuple[Connection, bool]:
            conn = self._autocommit()
            try:
                started = conn.execute(statement).first() is not None
            except BaseException:
                conn.close()
                raise
            return conn, started

        conn, started = self._patiently(run)
        if started:
            with self._guard:
                self._claimed[_run_of(task_id)] = conn
            return Claim.RUN
        try:
            found = conn.execute(
                sa.select(table.c.status, sa.func.pg_advisory_unlock(_lock_key(task_id))).where(
                    table.c.task_id == task_id
                )
            ).first()
        finally:
            conn.close()
        if found is not None and found.status == states.REVOKED:
            return Claim.REVOKED
        return Claim.SUCCEEDED

    def release(self, task_id: str) -> None:
        """End ``task_id``'s claim if it still holds one (its run ended without a state)."""
        with self._guard:
            conn = self._claimed.pop(_run_of(task_id), None)
            self._pending.pop(_run_of(task_id), None)
        if conn is None:
            return
        with contextlib.suppress(DBAPIError):
            conn.execute(sa.select(sa.func.pg_advisory_unlock(_lock_key(task_id))))
        with contextlib.suppress(DBAPIError):
            conn.close()

    def commit_with_outcome(self, task_id: str, rows: Sequence[Insert | Update]) -> None:
        """Write ``rows`` (INSERT or UPDATE statements) in the statement that stores
        ``task_id``'s next final or RETRY state, atomically with it."""
        with self._guard:
            self._pending.setdefault(_run_of(task_id), []).extend(rows)

    # --- storing states ------------------------------------------------------------

    def _store_result(
        self,
        task_id: str,
        result: Any,
        state: str,
        traceback: str | None = None,
        request: Any = None,
        **kwargs: Any,
    ) -> None:
        table = TaskRecord.__table__
        meta = cast(Any, self)._get_result_meta(
            result=ensure_bytes(self.encode(result)),
            state=state,
            traceback=traceback,
            request=request,
            format_date=False,
            encode=True,
        )
        now = datetime.now(UTC)
        children = meta.get("children")
        values = {
            "id": sa.func.nextval("task_id_sequence"),
            "task_id": task_id,
            "status": state,
            "result": meta.get("result"),
            "date_done": meta.get("date_done") or now,
            "traceback": meta.get("traceback"),
            "children": ensure_bytes(self.encode(children)) if children else None,
            "name": meta.get("name"),
            "args": meta.get("args"),
            "kwargs": meta.get("kwargs"),
            "worker": meta.get("worker"),
            "retries": meta.get("retries"),
            "queue": meta.get("queue"),
            "date_started": now if state == states.STARTED else None,
            "workflow_id": _header(request, "workflow_id"),
        }
        insert = pg_insert(table).values(**values)
        excluded = insert.excluded
        updated: dict[str, Any] = {
            name: excluded[name] for name in values if name not in ("id", "task_id")
        }
        updated["date_started"] = sa.func.coalesce(table.c.date_started, excluded.date_started)
        updated["workflow_id"] = sa.func.coalesce(excluded.workflow_id, table.c.workflow_id)
        statement: Any = insert.on_conflict_do_update(
            index_elements=[table.c.task_id],
            set_=updated,
            where=sa.and_(
                table.c.status != states.SUCCESS,
                sa.not_(
                    sa.and_(
                        table.c.status == states.REVOKED,
                        excluded.status.in_(NOT_AFTER_REVOKE),
                    )
                ),
            ),
        )
        ends_run = state in RUN_ENDS
        run = _run_of(task_id)
        with self._guard:
            claimed = self._claimed.get(run)
            rows = self._pending.pop(run, []) if ends_run else []
            if ends_run:
                self._claimed.pop(run, None)
        for number, row in enumerate(rows):
            statement = statement.add_cte(row.cte(f"with_outcome_{number}"))
        if claimed is not None and ends_run:
            # Released by the statement that stores the state, once its row is locked:
            # a waiting copy then blocks on that row until the commit, and sees it.
            statement = statement.returning(sa.func.pg_advisory_unlock(_lock_key(task_id)))
        conn = claimed if claimed is not None else self._autocommit()
        try:
            stored = conn.execute(statement)
            if claimed is not None and ends_run and stored.first() is None:
                conn.execute(sa.select(sa.func.pg_advisory_unlock(_lock_key(task_id))))
        except BaseException:
            # Celery retries the write: with the same rows, and on the same claim unless
            # its connection broke (the lock went with it; the retry stores unclaimed).
            with self._guard:
                if rows:
                    self._pending.setdefault(run, [])[:0] = rows
                if claimed is not None and not conn.invalidated:
                    self._claimed[run] = claimed
                else:
                    self._claimed.pop(run, None)
            if claimed is None or conn.invalidated:
                with contextlib.suppress(DBAPIError):
                    conn.close()
            raise
        if claimed is None or ends_run:
            conn.close()
