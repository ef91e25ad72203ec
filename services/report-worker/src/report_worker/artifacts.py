"""Storing a report: its row in ``reports`` and its bytes in ordered ``report_chunks``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import Connection, func, insert, select, update

from contracts import GenerateReport, ReportReady
from report_worker.tables import report_chunks, reports


class ChunkWriter:
    """Appends bytes to a report's content, ``chunk_size`` bytes per stored chunk."""

    def __init__(self, conn: Connection, report_id: UUID, chunk_size: int) -> None:
        self._conn = conn
        self._report_id = report_id
        self._chunk_size = chunk_size
        self._buffer = bytearray()
        self._seq = 0
        self._digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self._digest.update(data)
        self.size += len(data)
        self._buffer += data
        while len(self._buffer) >= self._chunk_size:
            self._store(bytes(self._buffer[: self._chunk_size]))
            del self._buffer[: self._chunk_size]

    def close(self) -> str:
        """Store what is left; the content's sha256."""
        if self._buffer or self._seq == 0:
            self._store(bytes(self._buffer))
            self._buffer.clear()
        return self._digest.hexdigest()

    def _store(self, data: bytes) -> None:
        self._conn.execute(
            insert(report_chunks).values(report_id=self._report_id, seq=self._seq, data=data)
        )
        self._seq += 1


def lock(conn: Connection, report_id: UUID) -> None:
    """Serialize two runs of the same report (a redelivered task) until commit."""
    conn.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(str(report_id), 0))))


@dataclass(frozen=True)
class Stored:
    tenant: str
    ready: ReportReady


def find(conn: Connection, report_id: UUID) -> Stored | None:
    """The stored report and its owner, when it exists (a rerun reuses it)."""
    row = conn.execute(select(reports).where(reports.c.id == report_id)).mappings().first()
    if row is None:
        return None
    ready = ReportReady(
        report_id=row["id"],
        rows=row["rows"],
        bytes=row["size"],
        content_type=row["content_type"],
        sha256=row["sha256"],
    )
    return Stored(row["tenant"], ready)


def filename(request: GenerateReport, extension: str) -> str:
    period = request.period
    return f"{request.kind.value}-{period.start.isoformat()}-{period.end.isoformat()}.{extension}"


def begin(
    conn: Connection,
    report_id: UUID,
    request: GenerateReport,
    *,
    content_type: str,
    extension: str,
    task_id: str,
) -> None:
    """The report's row, completed by :func:`finish` in the same transaction."""
    conn.execute(
        insert(reports).values(
            id=report_id,
            tenant=request.tenant,
            kind=request.kind.value,
            format=request.format.value,
            period_start=request.period.start,
            period_end=request.period.end,
            content_type=content_type,
            filename=filename(request, extension),
            size=0,
            sha256="",
            rows=0,
            task_id=task_id,
            created_at=datetime.now(UTC),
        )
    )


def finish(conn: Connection, report_id: UUID, *, size: int, sha256: str, rows: int) -> None:
    conn.execute(
        update(reports).where(reports.c.id == report_id).values(size=size, sha256=sha256, rows=rows)
    )
