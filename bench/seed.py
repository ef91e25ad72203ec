"""Loading a million rows fast: COPY into the tables the services own, in their shapes.

Stored workflows are copies of one that really ran: its row as COPY writes it, every
column, with the workflow's id, its steps' task ids and its creation time replaced
wherever they occur (the columns and the documents inside them), so a status read of a
copy does exactly what it does in production, whatever columns the table has gained.
Unfinished ones are that row as it was before its step started. Deliveries are what the
email worker records, spread over a period.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import psycopg
from psycopg import sql

from api.workflows import document

#: Rows per COPY write.
CHUNK = 20_000

DELIVERY_COLUMNS = (
    "task_id, workflow_id, tenant, lane, attempt, outcome, smtp_code, detail, message_id, "
    "recipients, result, attempted_at"
)
NULL = "\\N"

#: A step's fields that say how far it got; a step not yet started has none of them.
PROGRESS_FIELDS = ("started_at", "finished_at", "result", "error", "worker", "progress")


class StoredIds:
    """The ids of the stored workflows, made from their number: no list of a million."""

    def __init__(self) -> None:
        self._high = uuid.uuid4().int >> 48 << 48

    def __call__(self, number: int) -> uuid.UUID:
        return uuid.UUID(int=self._high | number)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v"}


def _unescape(value: str) -> str:
    """A value of COPY's text format as it really is."""
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), value)


def _escape(value: str) -> str:
    """A value in COPY's text format."""
    return (
        value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    )


def _copy(conn: psycopg.Connection, statement: str, lines: Iterator[str]) -> None:
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        chunk: list[str] = []
        for line in lines:
            chunk.append(line)
            if len(chunk) >= CHUNK:
                copy.write("".join(chunk))
                chunk.clear()
        if chunk:
            copy.write("".join(chunk))


def _iso(moment: datetime) -> str:
    # How the status document writes a time (api.workflows.document._iso).
    return moment.astimezone(UTC).isoformat()


@dataclass
class Template:
    """One workflow row in COPY's text format, by column, and what identifies it."""

    columns: list[str]
    fields: list[str]
    workflow_id: str
    task_ids: list[str]
    created_at: datetime

    def get(self, column: str) -> str:
        return self.fields[self.columns.index(column)]

    def set(self, column: str, value: str) -> None:
        if column in self.columns:
            self.fields[self.columns.index(column)] = value

    def json(self, column: str) -> Any:
        return json.loads(_unescape(self.get(column)))

    def set_json(self, column: str, value: Any) -> None:
        self.set(column, _escape(json.dumps(value)))

    def copies(self, count: int, ids: StoredIds) -> Iterator[str]:
        """``count`` COPY lines: this row under fresh ids, each created a millisecond
        before the last (the tracker and listings page by creation time)."""
        line = "\t".join(self.fields)
        created_column = self.columns.index("created_at")
        updated_column = self.columns.index("updated_at")
        unfinished = self.get("finished_at") == NULL
        created_iso = _iso(self.created_at)
        document_column = self.columns.index("document") if "document" in self.columns else None
        etag_column = self.columns.index("etag") if "etag" in self.columns else None
        for number in range(count):
            copy = line.replace(self.workflow_id, str(ids(number)))
            for task_id in self.task_ids:
                copy = copy.replace(
                    task_id, str(uuid.uuid5(uuid.NAMESPACE_OID, f"{task_id}:{number}"))
                )
            created = self.created_at - timedelta(milliseconds=number)
            copy = copy.replace(created_iso, _iso(created))
            fields = copy.split("\t")
            fields[created_column] = created.isoformat()
            if unfinished:
                fields[updated_column] = fields[created_column]
            if etag_column is not None and document_column is not None:
                # The copy's own document (its ids, its time) has its own ETag.
                fields[etag_column] = document.etag_of(_unescape(fields[document_column]))
            yield "\t".join(fields) + "\n"


def template(conn: psycopg.Connection, tenant: str) -> Template:
    """A workflow of ``tenant`` that ran and succeeded, as COPY writes it."""
    found = conn.execute(
        "SELECT id::text, steps::text, created_at FROM api.workflows "
        "WHERE tenant = %s AND status = 'succeeded' AND finished_at IS NOT NULL LIMIT 1",
        (tenant,),
    ).fetchone()
    if found is None:
        raise RuntimeError("no finished workflow to copy: the product run stored none")
    workflow_id, steps, created_at = found
    cursor = conn.execute("SELECT * FROM api.workflows LIMIT 0")
    columns = [column.name for column in cursor.description or ()]
    statement = sql.SQL("COPY (SELECT * FROM api.workflows WHERE id = {}) TO STDOUT").format(
        sql.Literal(workflow_id)
    )
    with conn.cursor() as copy_cursor, copy_cursor.copy(statement) as copy:
        line = b"".join(bytes(chunk) for chunk in copy).decode()
    return Template(
        columns=columns,
        fields=line.rstrip("\n").split("\t"),
        workflow_id=workflow_id,
        task_ids=[step["task_id"] for step in json.loads(steps)],
        created_at=created_at,
    )


def _not_started(step: dict[str, Any]) -> dict[str, Any]:
    cleared = {name: None for name in PROGRESS_FIELDS if name in step}
    attempts = {"attempts": 0} if "attempts" in step else {}
    return {**step, **cleared, **attempts, "status": "queued"}


def _queued_document(document: dict[str, Any]) -> dict[str, Any]:
    queued = {**document, "status": "queued"}
    for name in ("finished_at", "result", "error"):
        if name in queued:
            queued[name] = None
    if "updated_at" in queued:
        queued["updated_at"] = queued.get("created_at")
    if isinstance(queued.get("progress"), dict):
        queued["progress"] = {**queued["progress"], "completed": 0}
    if isinstance(queued.get("steps"), list):
        queued["steps"] = [_not_started(step) for step in queued["steps"]]
    return queued


def unfinished(finished: Template) -> Template:
    """The row as it was when its workflow was accepted: queued, its step not started."""
    row = Template(
        list(finished.columns),
        list(finished.fields),
        finished.workflow_id,
        finished.task_ids,
        finished.created_at,
    )
    row.set("status", "queued")
    for column in ("finished_at", "result", "error"):
        row.set(column, NULL)
    row.set("updated_at", row.get("created_at"))
    row.set_json("steps", [_not_started(step) for step in row.json("steps")])
    if "document" in row.columns and row.get("document") != NULL:
        # Written as the product writes a document, so that its status updater, should
        # it look at one (its sweep), finds it as it would have stored it.
        text = document.serialize(_queued_document(row.json("document")))
        row.set("document", _escape(text))
        if "etag" in row.columns:
            row.set("etag", document.etag_of(text))
    return row


def _vacuum(database_url: str, table: str) -> None:
    # After a bulk load: fresh statistics, and nothing left for autovacuum to do while
    # the suite measures (an idle system's CPU above all); then a checkpoint, so that
    # the load's dirty pages are not written out by the checkpointer during the window.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"VACUUM (ANALYZE) {table}")
        # Without the privilege (superuser or pg_checkpoint) the window may include it.
        with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
            conn.execute("CHECKPOINT")


def workflows(
    database_url: str,
    tenant: str,
    count: int,
    ids: StoredIds,
    shape: Callable[[Template], Template] = lambda row: row,
) -> None:
    """``count`` copies of a finished workflow of ``tenant`` (``shape`` makes the row
    to copy from it: :func:`unfinished`, say)."""
    with psycopg.connect(database_url) as conn:
        row = shape(template(conn, tenant))
        _copy(conn, "COPY api.workflows FROM STDIN", row.copies(count, ids))
        conn.commit()
    _vacuum(database_url, "api.workflows")


def deliveries(database_url: str, tenant: str, count: int, first: date, last: date) -> None:
    """``count`` delivery attempts of ``tenant`` spread evenly over the days first..last:
    mostly sent, some deferred and failed, a third on the bulk lane."""
    start = datetime.combine(first, time(0), tzinfo=UTC)
    span = (last - first + timedelta(days=1)).total_seconds()
    prefix = uuid.uuid4().hex[:8]

    def lines() -> Iterator[str]:
        for number in range(count):
            task_id = f"{prefix}-{number:08d}"
            lane = "bulk" if number % 3 == 0 else "transactional"
            attempted = (start + timedelta(seconds=span * number / count)).isoformat()
            if number % 50 == 0:
                outcome, code, detail, message, result = (
                    "failed",
                    "550",
                    "no such user",
                    "\\N",
                    "\\N",
                )
            elif number % 20 == 0:
                outcome, code, detail, message, result = (
                    "deferred",
                    "451",
                    "try later",
                    "\\N",
                    "\\N",
                )
            else:
                message = f"<{task_id}@bench.localhost>"
                outcome, code, detail = "sent", "\\N", "\\N"
                result = json.dumps(
                    {"message_id": message, "accepted": ["reader@example.com"], "refused": []}
                )
            yield (
                f"{task_id}\t\\N\t{tenant}\t{lane}\t1\t{outcome}\t{code}\t{detail}\t{message}\t"
                f"1\t{result}\t{attempted}\n"
            )

    with psycopg.connect(database_url) as conn:
        _copy(conn, f"COPY email_worker.deliveries ({DELIVERY_COLUMNS}) FROM STDIN", lines())
        conn.commit()
    _vacuum(database_url, "email_worker.deliveries")
