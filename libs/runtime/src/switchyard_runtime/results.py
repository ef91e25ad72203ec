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
  that dies loses its connection, and the lock with it. Claims are a session's: with
  ``DATABASE_SESSION_URL`` set they have an engine of their own on it (Celery's
  ``result_backend_claims_url``), while every other write may go through a transaction
  pooler on ``DATABASE_URL``.
- **Rows committed with the outcome** (:meth:`ResultBackend.commit_with_outcome`): a task
  hands over its own rows (the email worker's delivery record), which are written by the
  same statement that stores its next state, atomically with it.
- **Where a step belongs.** ``workflow_id`` (from the message's headers) and the time
  the task first started, ``date_started``, are stored in two more nullable columns.
  Of Celery's extended columns the task's name, worker, retries and queue are kept; its
  arguments are not (``args`` and ``kwargs`` stay empty).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar, cast

import psycopg
import sqlalchemy as sa
import structlog
from celery import states
from celery.backends.database import DatabaseBackend
from celery.backends.database.models import TaskExtended
from kombu.utils.encoding import ensure_bytes
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from switchyard_runtime.database import in_utc

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


@dataclass(frozen=True)
class Write:
    """A statement to run with a task's outcome: plain SQL (an INSERT or UPDATE with
    ``%s`` placeholders) and its parameters, in order."""

    sql: str
    params: tuple[Any, ...] = ()


#: Claiming a run: the advisory lock on the task id first (the row source waits for
#: it), then STARTED, unless the stored state is SUCCESS or REVOKED (the WHERE sees the
#: latest row, even one committed while this statement waited for the lock).
_CLAIM = """
INSERT INTO celery_taskmeta AS t (id, task_id, status, result, date_done, date_started,
    name, worker, retries, queue, workflow_id)
SELECT nextval('task_id_sequence'), %(task_id)s, 'STARTED', %(result)s, %(now)s, %(now)s,
    %(name)s, %(worker)s, %(retries)s, %(queue)s, %(workflow_id)s
FROM (SELECT pg_advisory_lock(hashtextextended(%(task_id)s, 0))) AS locked
ON CONFLICT (task_id) DO UPDATE SET status = excluded.status, result = excluded.result,
    date_done = excluded.date_done, worker = excluded.worker, retries = excluded.retries,
    queue = coalesce(excluded.queue, t.queue), name = coalesce(excluded.name, t.name),
    date_started = coalesce(t.date_started, excluded.date_started),
    workflow_id = coalesce(excluded.workflow_id, t.workflow_id)
WHERE t.status NOT IN ('SUCCESS', 'REVOKED')
RETURNING t.status
"""

_CLAIM_REFUSED = (
    "SELECT (SELECT status FROM celery_taskmeta WHERE task_id = %(task_id)s),"
    " (SELECT result FROM celery_taskmeta WHERE task_id = %(task_id)s),"
    " pg_advisory_unlock(hashtextextended(%(task_id)s, 0))"
)
# A SUCCESS whose result is not JSON is corrupt (a pickle, say): it becomes a FAILURE
# saying so, unless it changed since it was read.
_FAIL_CORRUPT = (
    "UPDATE celery_taskmeta SET status = 'FAILURE', result = %(reason)s, traceback = NULL,"
    " date_done = %(now)s WHERE task_id = %(task_id)s AND status = 'SUCCESS'"
    " AND result IS NOT DISTINCT FROM %(result)s"
)
#: The reason stored for a corrupt result row, as Celery stores an exception.
CORRUPT_RESULT = {
    "exc_type": "CorruptResult",
    "exc_message": ["the stored result of this step was not JSON; it was refused, not decoded"],
    "exc_module": "builtins",
}
_UNLOCK = "SELECT pg_advisory_unlock(hashtextextended(%s, 0))"

_STORE_COLUMNS = (
    "task_id, status, result, date_done, traceback, children, name, args, kwargs, worker,"
    " retries, queue, date_started, workflow_id"
)

#: Storing a state: never over a SUCCESS, nor a not-yet-run state over REVOKED.
_STORE = f"""
INSERT INTO celery_taskmeta AS t (id, {_STORE_COLUMNS})
VALUES (nextval('task_id_sequence'), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (task_id) DO UPDATE SET status = excluded.status, result = excluded.result,
    date_done = excluded.date_done, traceback = excluded.traceback,
    children = excluded.children, name = excluded.name, args = excluded.args,
    kwargs = excluded.kwargs, worker = excluded.worker, retries = excluded.retries,
    queue = excluded.queue, date_started = coalesce(t.date_started, excluded.date_started),
    workflow_id = coalesce(excluded.workflow_id, t.workflow_id)
WHERE t.status <> 'SUCCESS'
    AND NOT (t.status = 'REVOKED' AND excluded.status IN {tuple(NOT_AFTER_REVOKE)!r})
"""

#: Released by the statement that stores the state, once its row is locked: a copy
#: waiting for the lock then blocks on that row until the commit, and sees it.
_STORE_AND_UNLOCK = _STORE + "RETURNING pg_advisory_unlock(hashtextextended(t.task_id, 0))"


def _first(conn: Connection, sql: str, params: Any) -> tuple[Any, ...] | None:
    """Run ``sql`` on ``conn``'s driver connection; its first row.

    SQLAlchemy's execution layer cost these fixed statements more than PostgreSQL did to
    run them; the connection still comes from (and goes back to) its pool. A failure is
    handed on as SQLAlchemy's error, with the connection invalidated when it broke, so
    Celery's retries and the pool see it as they would have.
    """
    driver = conn.connection.dbapi_connection
    assert driver is not None
    try:
        cursor = driver.cursor()
        cursor.execute(sql, params)
        row = cursor.fetchone() if cursor.description else None
        cursor.close()
        return tuple(row) if row is not None else None
    except psycopg.Error as error:
        broken = driver.closed or isinstance(error, psycopg.OperationalError)
        if broken:
            conn.invalidate(error)
        raise DBAPIError.instance(
            sql, params, error, psycopg.Error, connection_invalidated=broken
        ) from error


def _with_writes(statement: str, writes: Sequence[Write]) -> str:
    if not writes:
        return statement
    ctes = ", ".join(f"with_outcome_{n} AS ({write.sql})" for n, write in enumerate(writes))
    return f"WITH {ctes} {statement}"


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
    CORRUPT = "corrupt"  # a stored SUCCESS was not JSON: now failed, saying so; skip it


log = structlog.get_logger("switchyard_runtime.results")


def _is_json(stored: Any) -> bool:
    if stored is None:
        return True
    try:
        json.loads(bytes(stored))
    except ValueError:
        return False
    return True


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
        self._claims_engine: Engine | None = None
        self._engine_pid: int | None = None
        self._sessions: sessionmaker[Session] | None = None
        #: Connections holding a run's claim (its advisory lock), by task id and the
        #: thread running it: two copies of one task may run in two threads at once.
        self._claimed: dict[tuple[str, int], Connection] = {}
        #: Rows to write with a run's next stored state, keyed the same way.
        self._pending: dict[tuple[str, int], list[Write]] = {}
        super().__init__(url=url, **kwargs)
        self.task_cls = TaskRecord
        _BACKENDS.add(self)

    # --- connections ---------------------------------------------------------------

    def engine(self) -> Engine:
        """This process's pooled engine; a forked child makes its own."""
        with self._guard:
            pid = os.getpid()
            if self._engine is None or self._engine_pid != pid:
                for inherited in self._engines():
                    # Inherited from the parent: forget its connections, never close
                    # them (the parent still talks on those sockets).
                    inherited.dispose(close=False)
                self._claimed.clear()
                # Autocommit: each write is one statement, its own transaction, with no
                # BEGIN or COMMIT round trips around it.
                options = {"isolation_level": "AUTOCOMMIT", **self.engine_options}
                # Named after the app (the service) in pg_stat_activity.
                connect_args = dict(options.get("connect_args") or {})
                connect_args.setdefault("application_name", str(cast(Any, self).app.main))
                options["connect_args"] = connect_args
                self._engine = in_utc(create_engine(self.url, **options))
                claims_url = cast(Any, self).app.conf.get("result_backend_claims_url")
                if claims_url:
                    # Named apart in pg_stat_activity: sessions, not a pooler's clients.
                    claims_args = {
                        **connect_args,
                        "application_name": f"{connect_args['application_name']}-claims",
                    }
                    claims = {**options, "connect_args": claims_args}
                    self._claims_engine = in_utc(create_engine(claims_url, **claims))
                else:
                    self._claims_engine = self._engine
                self._engine_pid = pid
                self._sessions = None
            return self._engine

    def _engines(self) -> list[Engine]:
        return [e for e in {self._engine, self._claims_engine} if e is not None]

    def claims_engine(self) -> Engine:
        """The engine of the claims' connections: a session each (``DATABASE_SESSION_URL``)."""
        self.engine()
        assert self._claims_engine is not None
        return self._claims_engine

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
            if self._engine_pid == os.getpid():
                for engine in self._engines():
                    engine.dispose()
            self._engine = None
            self._claims_engine = None
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
        params = {
            "task_id": task_id,
            "result": ensure_bytes(
                self.encode({"pid": os.getpid(), "hostname": getattr(request, "hostname", None)})
            ),
            "now": datetime.now(UTC),
            "name": getattr(request, "task", None),
            "worker": getattr(request, "hostname", None),
            "retries": getattr(request, "retries", None),
            "queue": (getattr(request, "delivery_info", None) or {}).get("routing_key"),
            "workflow_id": _header(request, "workflow_id"),
        }

        def run() -> tuple[Connection, bool]:
            conn = self.claims_engine().connect()
            try:
                started = _first(conn, _CLAIM, params) is not None
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
            found = _first(conn, _CLAIM_REFUSED, {"task_id": task_id})
            if found is not None and found[0] == states.REVOKED:
                return Claim.REVOKED
            if found is not None and not _is_json(found[1]):
                log.error(
                    "stored result is not JSON: refused, never unpickled; the step fails",
                    task_id=task_id,
                )
                _first(
                    conn,
                    _FAIL_CORRUPT,
                    {
                        "task_id": task_id,
                        "result": found[1],
                        "reason": ensure_bytes(self.encode(CORRUPT_RESULT)),
                        "now": datetime.now(UTC),
                    },
                )
                return Claim.CORRUPT
        finally:
            conn.close()
        return Claim.SUCCEEDED

    def release(self, task_id: str) -> None:
        """End ``task_id``'s claim if it still holds one (its run ended without a state)."""
        with self._guard:
            conn = self._claimed.pop(_run_of(task_id), None)
            self._pending.pop(_run_of(task_id), None)
        if conn is None:
            return
        with contextlib.suppress(DBAPIError):
            _first(conn, _UNLOCK, (task_id,))
        with contextlib.suppress(DBAPIError):
            conn.close()

    def commit_with_outcome(self, task_id: str, rows: Sequence[Write]) -> None:
        """Run ``rows`` (INSERT or UPDATE statements) in the statement that stores
        ``task_id``'s next final or RETRY state, atomically with it."""
        with self._guard:
            self._pending.setdefault(_run_of(task_id), []).extend(rows)

    def _decode_stored_result(self, payload: Any) -> Any:
        """A stored result, decoded as JSON and nothing else.

        Celery's database backend unpickles a stored value it cannot decode when it
        looks like a pickle (rows of old Celery versions): whoever can write that table
        could then run code in every process reading it. Here it is refused.
        """
        if payload is None:
            return None
        return self.decode(ensure_bytes(payload))

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
        values = (
            task_id,
            state,
            meta.get("result"),
            meta.get("date_done") or now,
            meta.get("traceback"),
            ensure_bytes(self.encode(children)) if children else None,
            meta.get("name"),
            # No copy of the arguments (an email's recipients and body) in the result
            # table: the workflow keeps the request, the broker the message.
            None,
            None,
            meta.get("worker"),
            meta.get("retries"),
            meta.get("queue"),
            now if state == states.STARTED else None,
            _header(request, "workflow_id"),
        )
        ends_run = state in RUN_ENDS
        run = _run_of(task_id)
        with self._guard:
            claimed = self._claimed.get(run)
            rows = self._pending.pop(run, []) if ends_run else []
            if ends_run:
                self._claimed.pop(run, None)
        unlocks = claimed is not None and ends_run
        statement = _with_writes(_STORE_AND_UNLOCK if unlocks else _STORE, rows)
        params = (*(param for row in rows for param in row.params), *values)
        conn = claimed if claimed is not None else self._autocommit()
        try:
            stored = _first(conn, statement, params)
            if unlocks and stored is None:
                _first(conn, _UNLOCK, (task_id,))
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
