"""Loading a million rows fast: COPY into the tables the services own, in their shapes.

Finished workflows are copies of one that really ran (its request, steps and result,
with fresh ids), so a status read of a stored one does exactly what it does in
production. Deliveries are what the email worker records, spread over a period.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import psycopg

#: Rows per COPY write.
CHUNK = 20_000

WORKFLOW_COLUMNS = (
    "id, tenant, kind, shape, origin, status, created_at, updated_at, finished_at, "
    "request, steps, result"
)
DELIVERY_COLUMNS = (
    "task_id, workflow_id, tenant, lane, attempt, outcome, smtp_code, detail, message_id, "
    "recipients, result, attempted_at"
)


class StoredIds:
    """The ids of the stored workflows, made from their number: no list of a million."""

    def __init__(self) -> None:
        self._high = uuid.uuid4().int >> 48 << 48

    def __call__(self, number: int) -> uuid.UUID:
        return uuid.UUID(int=self._high | number)


def _text(value: str) -> str:
    """A value in COPY's text format (our JSON holds no tabs or newlines)."""
    return value.replace("\\", "\\\\")


def _copy(conn: psycopg.Connection, sql: str, lines: Iterator[str]) -> None:
    with conn.cursor() as cursor, cursor.copy(sql) as copy:
        chunk: list[str] = []
        for line in lines:
            chunk.append(line)
            if len(chunk) >= CHUNK:
                copy.write("".join(chunk))
                chunk.clear()
        if chunk:
            copy.write("".join(chunk))


def finished_workflows(database_url: str, tenant: str, count: int, ids: StoredIds) -> None:
    """``count`` finished email workflows of ``tenant``, copied from one that ran."""
    with psycopg.connect(database_url) as conn:
        template = conn.execute(
            "SELECT id::text, created_at, finished_at, request::text, steps::text, result::text "
            "FROM api.workflows WHERE tenant = %s AND status = 'succeeded' "
            "AND finished_at IS NOT NULL LIMIT 1",
            (tenant,),
        ).fetchone()
        if template is None:
            raise RuntimeError("no finished workflow to copy: the product run stored none")
        original, created, finished, request, steps, result = template
        task_id = json.loads(steps)[0]["task_id"]
        request, steps, result = _text(request), _text(steps), _text(result)
        finished_at = finished.astimezone(UTC).isoformat()

        def lines() -> Iterator[str]:
            for number in range(count):
                new_task = str(uuid.uuid5(uuid.NAMESPACE_OID, f"{original}:{number}"))
                created_at = (created - timedelta(milliseconds=number)).astimezone(UTC)
                yield (
                    f"{ids(number)}\t{tenant}\temail\tsingle\tapi\tsucceeded\t"
                    f"{created_at.isoformat()}\t{finished_at}\t{finished_at}\t{request}\t"
                    f"{steps.replace(task_id, new_task)}\t{result.replace(task_id, new_task)}\n"
                )

        _copy(conn, f"COPY api.workflows ({WORKFLOW_COLUMNS}) FROM STDIN", lines())
        conn.commit()
        conn.execute("ANALYZE api.workflows")
        conn.commit()


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
        conn.execute("ANALYZE email_worker.deliveries")
        conn.commit()
