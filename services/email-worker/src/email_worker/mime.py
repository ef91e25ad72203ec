"""Building the MIME message for one email."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from contracts import SendEmail


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


def sender_domain(sender: str) -> str:
    _, at, domain = parseaddr(sender)[1].rpartition("@")
    return domain if at and domain else "localhost"


def build_message(
    payload: SendEmail,
    *,
    sender: str,
    message_id: str,
    attachments: list[Attachment] | None = None,
) -> EmailMessage:
    """A standards-compliant message: text and/or HTML alternatives, then attachments."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(payload.to)
    if payload.cc:
        message["Cc"] = ", ".join(payload.cc)
    if payload.bcc:
        message["Bcc"] = ", ".join(payload.bcc)
    message["Subject"] = payload.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id
    if payload.text is not None:
        message.set_content(payload.text)
        if payload.html is not None:
            message.add_alternative(payload.html, subtype="html")
    elif payload.html is not None:
        message.set_content(payload.html, subtype="html")
    for attachment in attachments or []:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.content,
            maintype=maintype or "application",
            subtype=(subtype or "octet-stream").split(";")[0].strip(),
            filename=attachment.filename,
        )
    return message
