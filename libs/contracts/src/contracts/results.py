"""Celery's database result backend, keeping the time a task first started.

Celery's ``DatabaseBackend`` overwrites ``date_done`` on every state change, so once a
task finishes nobody can tell when it started. This subclass adds one nullable column,
``date_started``, set the first time a task is stored as STARTED, and refuses to let a
late STARTED, RETRY or progress update overwrite a REVOKED mark (a cancelled step stays
cancelled; the worker's pre-run check then skips it). Everything else is plain Celery:
same tables, JSON-encoded results, ``AsyncResult`` works as usual.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from celery import states
from celery.backends.database import DatabaseBackend
from celery.backends.database.models import TaskExtended

#: States that must not replace a REVOKED mark: the task has not really run yet.
_NOT_AFTER_REVOKE = frozenset({states.STARTED, states.RETRY, states.RECEIVED, "PROGRESS"})


class TaskRecord(TaskExtended):
    """``celery_taskmeta`` with the time of the first start."""

    __tablename__ = "celery_taskmeta"
    __table_args__ = {"extend_existing": True}  # noqa: RUF012 (SQLAlchemy's own convention)

    date_started = sa.Column(sa.DateTime(timezone=True), nullable=True)


class ResultBackend(DatabaseBackend):
    """The database backend with ``date_started`` and a sticky REVOKED state."""

    def __init__(self, url: str | None = None, **kwargs: Any) -> None:
        if url is None:
            # Installed as the app's backend class, Celery passes no URL: take the
            # configured ``db+postgresql...`` result_backend and drop Celery's prefix.
            configured = str(kwargs["app"].conf.result_backend or "")
            url = configured.removeprefix("db+") or None
        super().__init__(url=url, **kwargs)
        self.task_cls = TaskRecord

    def _update_result(
        self,
        task: TaskRecord,
        result: Any,
        state: str,
        traceback: str | None = None,
        request: Any = None,
    ) -> None:
        if task.status == states.REVOKED and state in _NOT_AFTER_REVOKE:
            return
        started = task.date_started
        # A private hook of DatabaseBackend that the type stubs do not list.
        super()._update_result(  # type: ignore[misc]
            task, result, state, traceback=traceback, request=request
        )
        if started is None and state == states.STARTED:
            started = datetime.now(UTC)
        task.date_started = started
