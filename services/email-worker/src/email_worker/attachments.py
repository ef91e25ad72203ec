"""Fetching stored reports to attach (they are attached by reference)."""

from __future__ import annotations

from contracts import SendEmail
from email_worker.mime import Attachment


class AttachmentError(Exception):
    """An attachment is missing or too large (never retried)."""


def load_attachments(payload: SendEmail, max_bytes: int) -> list[Attachment]:
    """The reports ``payload`` refers to, as MIME attachments."""
    if not payload.attachments:
        return []
    raise AttachmentError("report attachments are not supported yet")
