"""Fetching stored reports to attach: emails carry them by reference (``report_id``)."""

from __future__ import annotations

from sqlalchemy import select

from contracts import SendEmail
from email_worker.db import engine
from email_worker.mime import Attachment
from email_worker.tables import report_chunks, reports


class AttachmentError(Exception):
    """An attachment is missing or too large (never retried)."""


def load_attachments(payload: SendEmail, max_bytes: int) -> list[Attachment]:
    """The reports ``payload`` refers to (the sender's tenant's only), as MIME attachments."""
    if not payload.attachments:
        return []
    wanted = [attachment.report_id for attachment in payload.attachments]
    with engine().connect() as conn:
        found = {
            row.id: row
            for row in conn.execute(
                select(reports).where(reports.c.id.in_(wanted), reports.c.tenant == payload.tenant)
            )
        }
        missing = [str(report_id) for report_id in wanted if report_id not in found]
        if missing:
            raise AttachmentError(f"report(s) not found: {', '.join(missing)}")
        total = sum(found[report_id].size for report_id in wanted)
        if total > max_bytes:
            raise AttachmentError(
                f"attachments total {total} bytes, over the {max_bytes}-byte limit"
            )
        attachments = []
        for attachment in payload.attachments:
            row = found[attachment.report_id]
            content = b"".join(
                conn.execute(
                    select(report_chunks.c.data)
                    .where(report_chunks.c.report_id == attachment.report_id)
                    .order_by(report_chunks.c.seq)
                ).scalars()
            )
            attachments.append(
                Attachment(
                    filename=attachment.filename or row.filename,
                    content_type=row.content_type,
                    content=content,
                )
            )
    return attachments
