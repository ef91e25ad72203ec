"""Building the MIME message for one email.

Most emails are a short ASCII text and nothing else; :func:`plain_text` writes their
wire form directly (the exact bytes ``email`` would produce for them, CRLF line ends,
no Bcc), since the ``email`` package parses every header it is given and again every
header it is asked for, which was a third of the worker's CPU per email. Anything else
(HTML, attachments, non-ASCII text or headers, long lines) is built by
:func:`build_message` with the ``email`` package.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from contracts import SendEmail

#: The longest header or body line written as it is (RFC 5322's recommended 78).
MAX_LINE = 78


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class Outgoing:
    """A message ready for SMTP: envelope sender, envelope recipients, the bytes."""

    sender: str
    recipients: list[str]
    data: bytes


def plain_text(payload: SendEmail, *, sender: str, message_id: str) -> Outgoing | None:
    """The wire form of a plain, short-lined ASCII text email; ``None`` for any other."""
    if payload.text is None or payload.html is not None or payload.attachments:
        return None
    headers = [("From", sender), ("To", ", ".join(payload.to))]
    if payload.cc:
        headers.append(("Cc", ", ".join(payload.cc)))
    headers += [
        ("Subject", payload.subject),
        ("Date", formatdate(localtime=False, usegmt=True)),
        ("Message-ID", message_id),
        ("Content-Type", 'text/plain; charset="utf-8"'),
        ("Content-Transfer-Encoding", "7bit"),
        ("MIME-Version", "1.0"),
    ]
    lines = payload.text.splitlines() or [""]
    if not (
        all(value.isascii() and len(name) + len(value) + 2 <= MAX_LINE for name, value in headers)
        and all(line.isascii() and len(line) <= MAX_LINE for line in lines)
    ):
        return None
    text = "".join(f"{name}: {value}\r\n" for name, value in headers)
    text += "\r\n" + "".join(f"{line}\r\n" for line in lines)
    return Outgoing(
        sender=parseaddr(sender)[1],
        recipients=[*payload.to, *payload.cc, *payload.bcc],
        data=text.encode("ascii"),
    )


def sender_domain(sender: str) -> str:
    _, at, domain = parseaddr(sender)[1].rpartition("@")
    return domain if at and domain else "localhost"


def _header(message: EmailMessage, name: str, value: str) -> None:
    """Set a header; a plain short ASCII one as it is, without the policy parsing it.

    The header registry parses every value it is given (an address list goes through the
    full RFC 5322 parser): that was most of building a message. Values that need it
    (non-ASCII, long enough to fold) still go through it. The contract already refuses
    line breaks in what ends up here.
    """
    if value.isascii() and len(name) + len(value) + 2 <= MAX_LINE:
        message.set_raw(name, value)
    else:
        message[name] = value


def build_message(
    payload: SendEmail,
    *,
    sender: str,
    message_id: str,
    attachments: list[Attachment] | None = None,
) -> EmailMessage:
    """A standards-compliant message: text and/or HTML alternatives, then attachments."""
    message = EmailMessage()
    _header(message, "From", sender)
    _header(message, "To", ", ".join(payload.to))
    if payload.cc:
        _header(message, "Cc", ", ".join(payload.cc))
    if payload.bcc:
        _header(message, "Bcc", ", ".join(payload.bcc))
    _header(message, "Subject", payload.subject)
    _header(message, "Date", formatdate(localtime=False, usegmt=True))
    _header(message, "Message-ID", message_id)
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
