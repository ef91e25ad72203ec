"""Report workflows' payloads, and reading the stored reports the report worker wrote.

The reports are read through the views the report worker publishes for that
(``report_worker.reports_v1``, ``report_content_v1``: ``contracts.views``), never its
tables.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from api.db import Executor
from api.schemas import ReportSpec
from contracts import GenerateReport, Lane, ReportAttachment, SendEmail


def generate_payloads(specs: Sequence[ReportSpec], tenant: str) -> list[GenerateReport]:
    """One ``report.generate`` payload per spec, each with its report id chosen now."""
    return [
        GenerateReport(
            kind=spec.kind, period=spec.period, format=spec.format, tenant=tenant, report_id=uuid4()
        )
        for spec in specs
    ]


def _describe(payload: GenerateReport) -> str:
    period = payload.period
    return f"{payload.kind.value} ({payload.format.value}), {period.start} to {period.end}"


def delivery(
    deliver_to: Sequence[str], payloads: Sequence[GenerateReport], tenant: str
) -> SendEmail:
    """The email that carries ``payloads``' reports, attached by reference."""
    if len(payloads) == 1:
        subject = f"Your report: {_describe(payloads[0])}"
    else:
        subject = f"Your {len(payloads)} reports"
    lines = "\n".join(f"- {_describe(payload)}" for payload in payloads)
    return SendEmail(
        to=list(deliver_to),
        subject=subject,
        text=f"Attached, as requested:\n{lines}\n",
        lane=Lane.TRANSACTIONAL,
        tenant=tenant,
        attachments=[
            ReportAttachment(report_id=payload.report_id)
            for payload in payloads
            if payload.report_id is not None
        ],
    )


def _view(row: Any) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "kind": row["kind"],
        "format": row["format"],
        "period": {
            "start": row["period_start"].isoformat(),
            "end": row["period_end"].isoformat(),
        },
        "content_type": row["content_type"],
        "filename": row["filename"],
        "bytes": row["size"],
        "rows": row["rows"],
        "sha256": row["sha256"],
        "created_at": row["created_at"].isoformat(),
        "content_url": f"/v1/reports/{row['id']}/content",
    }


async def find(executor: Executor, report_id: UUID, tenant: str) -> dict[str, Any] | None:
    """The stored report's metadata, when it exists and belongs to ``tenant``."""
    row = await executor.fetchrow(
        "SELECT id, kind, format, period_start, period_end, content_type, filename, size,"
        " rows, sha256, created_at FROM report_worker.reports_v1 WHERE id = $1 AND tenant = $2",
        report_id,
        tenant,
    )
    return None if row is None else _view(row)


async def content(pool: asyncpg.Pool, report_id: UUID) -> AsyncIterator[bytes]:
    """The report's bytes, a stored chunk at a time.

    Each chunk is read on a connection taken from the pool for that read alone, so a
    client that reads slowly holds no connection while it is sent what it has.
    """
    seq = -1
    while True:
        row = await pool.fetchrow(
            "SELECT seq, data FROM report_worker.report_content_v1"
            " WHERE report_id = $1 AND seq > $2 ORDER BY seq LIMIT 1",
            report_id,
            seq,
        )
        if row is None:
            return
        seq = row["seq"]
        yield row["data"]
