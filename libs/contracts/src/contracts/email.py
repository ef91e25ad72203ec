"""The email domain: task ``email.send``, its payload and result, its exchange and queues.

Two lanes keep bulk mail from delaying a password reset: routing keys
``email.send.transactional`` and ``email.send.bulk`` land in one queue each.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Self
from uuid import UUID

from pydantic import BeforeValidator, EmailStr, Field, field_validator, model_validator

from contracts.base import Message, TaskContract
from contracts.topology import dead_letter_exchange, dead_letter_queue, domain_exchange, work_queue

SEND_EMAIL = "email.send"
"""Task name: deliver one email over SMTP."""

MAX_RECIPIENTS = 50
MAX_SUBJECT_LENGTH = 998  # RFC 5322 line length limit
MAX_BODY_LENGTH = 512 * 1024
MAX_ATTACHMENTS = 20

EXCHANGE = domain_exchange("email")
DEAD_LETTER_EXCHANGE = dead_letter_exchange("email")


class Lane(StrEnum):
    """Which queue an email waits in."""

    TRANSACTIONAL = "transactional"
    BULK = "bulk"


def routing_key(lane: Lane) -> str:
    """The routing key of ``email.send`` in ``lane``: ``email.send.<lane>``."""
    return f"{SEND_EMAIL}.{lane.value}"


TRANSACTIONAL_QUEUE = work_queue(
    "email.transactional", EXCHANGE, "email.#.transactional", DEAD_LETTER_EXCHANGE
)
BULK_QUEUE = work_queue("email.bulk", EXCHANGE, "email.#.bulk", DEAD_LETTER_EXCHANGE)
LANE_QUEUES = {Lane.TRANSACTIONAL: TRANSACTIONAL_QUEUE, Lane.BULK: BULK_QUEUE}
QUEUES = (TRANSACTIONAL_QUEUE, BULK_QUEUE)
DEAD_LETTER_QUEUES = tuple(dead_letter_queue(q, DEAD_LETTER_EXCHANGE) for q in QUEUES)


#: What no header value may hold: the C0 controls but TAB (whitespace inside one header
#: line, as RFC 5322 allows), DEL, the C1 controls (U+0085 NEXT LINE among them), and
#: U+2028 LINE and U+2029 PARAGRAPH SEPARATOR. Python's ``str.splitlines``, and so the
#: ``email`` package, ends a line at several of these besides CR and LF.
_NOT_IN_A_HEADER = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")

HEADER_RULE = "no line separator or control character (TAB is allowed)"


def one_header_line(value: str) -> str:
    """``value`` when it fits in one header line, else ``ValueError`` naming the character."""
    found = _NOT_IN_A_HEADER.search(value)
    if found is not None:
        raise ValueError(f"must be a single line: {HEADER_RULE}; found U+{ord(found[0]):04X}")
    return value


def _recipient_on_one_line(value: object) -> object:
    # Before the address is parsed: a display name ("Ada <ada@example.com>") is checked
    # too, although only the address is kept.
    return one_header_line(value) if isinstance(value, str) else value


Recipient = Annotated[
    EmailStr,
    BeforeValidator(_recipient_on_one_line),
    Field(description=f"an email address; with any display name, {HEADER_RULE}"),
]
"""An email address as a recipient field takes it: refused if it would break a header."""


class ReportAttachment(Message):
    """A stored report attached by reference; the worker fetches it at send time."""

    report_id: UUID
    filename: str | None = Field(default=None, max_length=200, pattern=r"^[\w.\- ]+$")


class EmailContent(Message):
    """Recipients, subject and body of an email: at least one of ``text`` and ``html``."""

    to: list[Recipient] = Field(min_length=1, max_length=MAX_RECIPIENTS)
    cc: list[Recipient] = Field(default_factory=list, max_length=MAX_RECIPIENTS)
    bcc: list[Recipient] = Field(default_factory=list, max_length=MAX_RECIPIENTS)
    subject: str = Field(
        min_length=1, max_length=MAX_SUBJECT_LENGTH, description=f"one header line: {HEADER_RULE}"
    )
    text: str | None = Field(default=None, max_length=MAX_BODY_LENGTH)
    html: str | None = Field(default=None, max_length=MAX_BODY_LENGTH)
    lane: Lane = Lane.TRANSACTIONAL

    @field_validator("subject")
    @classmethod
    def _single_line(cls, value: str) -> str:
        return one_header_line(value)

    @model_validator(mode="after")
    def _has_a_body(self) -> Self:
        if self.text is None and self.html is None:
            raise ValueError("at least one of text and html is required")
        return self


class SendEmail(EmailContent):
    """Payload of ``email.send``: the content, stored reports to attach, and the tenant."""

    attachments: list[ReportAttachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    tenant: str = Field(default="default", min_length=1, max_length=64)


class RefusedRecipient(Message):
    """A recipient the SMTP server refused, with its reply."""

    address: str
    code: int
    message: str


class EmailSent(Message):
    """Result of ``email.send``."""

    message_id: str
    accepted: list[str]
    refused: list[RefusedRecipient] = Field(default_factory=list)


def _lane(kwargs: Mapping[str, Any]) -> Lane:
    try:
        return Lane(kwargs.get("lane", Lane.TRANSACTIONAL))
    except ValueError:
        return Lane.TRANSACTIONAL


SEND = TaskContract(
    name=SEND_EMAIL,
    payload=SendEmail,
    result=EmailSent,
    exchange=EXCHANGE,
    queues=QUEUES,
    queue_for=lambda kwargs: LANE_QUEUES[_lane(kwargs)],
    routing_key_for=lambda kwargs: routing_key(_lane(kwargs)),
    dead_letter_queues=DEAD_LETTER_QUEUES,
)
