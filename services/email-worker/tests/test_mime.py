"""The MIME message of one email, and what of it actually goes out (no server needed)."""

from __future__ import annotations

import email
import email.policy
import smtplib
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest

from contracts import SendEmail
from email_worker import deliveries, tasks
from email_worker.config import Settings
from email_worker.mime import Attachment, Outgoing, build_message, plain_text, sender_domain

SENDER = "Switchyard <noreply@switchyard.example>"
MESSAGE_ID = "<task-1@switchyard.example>"


def payload(**overrides: Any) -> SendEmail:
    fields: dict[str, Any] = {"to": ["ada@example.com"], "subject": "Hello", **overrides}
    return SendEmail.model_validate(fields)


def build(p: SendEmail, attachments: list[Attachment] | None = None) -> EmailMessage:
    return build_message(p, sender=SENDER, message_id=MESSAGE_ID, attachments=attachments)


class CapturingSMTP(smtplib.SMTP):
    """smtplib's own ``send_message`` without a connection: records what it would send."""

    def __init__(self) -> None:
        super().__init__()  # no host: does not connect
        self.sent: list[tuple[str, list[str], bytes]] = []

    def ehlo_or_helo_if_needed(self) -> None:
        """A server that advertises nothing (no SMTPUTF8)."""

    def sendmail(  # type: ignore[override]
        self,
        from_addr: str,
        to_addrs: str | Sequence[str],
        msg: bytes | str,
        mail_options: Sequence[str] = (),
        rcpt_options: Sequence[str] = (),
    ) -> dict[str, tuple[int, bytes]]:
        assert isinstance(msg, bytes)
        self.sent.append((from_addr, list(to_addrs), msg))
        return {}


def on_the_wire(message: EmailMessage) -> tuple[str, list[str], EmailMessage]:
    """Envelope sender, envelope recipients and the message as the server would get it."""
    client = CapturingSMTP()
    client.send_message(message)
    [(sender, recipients, raw)] = client.sent
    received = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(received, EmailMessage)
    return sender, recipients, received


def test_text_only_is_a_single_text_plain_part() -> None:
    message = build(payload(text="Hello Ada"))
    assert message.get_content_type() == "text/plain"
    assert not message.is_multipart()
    assert message.get_content().rstrip("\n") == "Hello Ada"


def test_html_only_is_a_single_text_html_part() -> None:
    message = build(payload(html="<p>Hello Ada</p>"))
    assert message.get_content_type() == "text/html"
    assert not message.is_multipart()
    assert message.get_content().rstrip("\n") == "<p>Hello Ada</p>"


def test_text_and_html_are_alternatives_plain_first() -> None:
    message = build(payload(text="Hello Ada", html="<p>Hello Ada</p>"))
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    assert isinstance(parts[0], EmailMessage)
    assert isinstance(parts[1], EmailMessage)
    assert parts[0].get_content().rstrip("\n") == "Hello Ada"
    assert parts[1].get_content().rstrip("\n") == "<p>Hello Ada</p>"
    # The client picks the richest one it can show: HTML, and plain text otherwise.
    body = message.get_body(preferencelist=("html", "plain"))
    assert body is not None
    assert body.get_content_type() == "text/html"


def test_non_ascii_content_survives() -> None:
    message = build(payload(subject="Grüße, Ada ✓", text="Schöne Grüße"))
    _, _, received = on_the_wire(message)
    assert received["Subject"] == "Grüße, Ada ✓"
    # On the wire lines end in CRLF (canonical form), whatever the encoding.
    assert received.get_content().rstrip("\r\n") == "Schöne Grüße"


def test_the_headers() -> None:
    message = build(payload(to=["ada@example.com", "bob@example.com"], text="x"))
    assert message["From"] == SENDER
    assert [a for _, a in getaddresses([str(message["To"])])] == [
        "ada@example.com",
        "bob@example.com",
    ]
    assert message["Subject"] == "Hello"
    assert message["Message-ID"] == MESSAGE_ID
    date = parsedate_to_datetime(str(message["Date"]))
    assert date.tzinfo is not None
    assert message["Cc"] is None


def test_cc_is_in_the_headers_and_bcc_only_in_the_envelope() -> None:
    message = build(
        payload(
            to=["ada@example.com"],
            cc=["bob@example.com", "carol@example.com"],
            bcc=["audit@example.com"],
            text="x",
        )
    )
    sender, recipients, received = on_the_wire(message)
    assert sender == "noreply@switchyard.example"
    assert sorted(recipients) == [
        "ada@example.com",
        "audit@example.com",
        "bob@example.com",
        "carol@example.com",
    ]
    assert [a for _, a in getaddresses([str(received["Cc"])])] == [
        "bob@example.com",
        "carol@example.com",
    ]
    assert received["Bcc"] is None
    assert b"audit@example.com" not in received.as_bytes()


def test_attachments_follow_the_body() -> None:
    message = build(
        payload(text="see attached"),
        attachments=[Attachment("report.csv", "text/csv; charset=utf-8", b"a,b\n1,2\n")],
    )
    assert message.get_content_type() == "multipart/mixed"
    [attachment] = list(message.iter_attachments())
    assert isinstance(attachment, EmailMessage)
    assert attachment.get_filename() == "report.csv"
    assert attachment.get_content_type() == "text/csv"
    assert attachment.get_payload(decode=True) == b"a,b\n1,2\n"


@pytest.mark.parametrize(
    ("sender", "domain"),
    [
        ("Switchyard <noreply@switchyard.example>", "switchyard.example"),
        ("plain@mail.example.org", "mail.example.org"),
        ("noreply", "localhost"),
        ("Switchyard <noreply>", "localhost"),
        ("trailing@", "localhost"),
        ("", "localhost"),
    ],
)
def test_sender_domain(sender: str, domain: str) -> None:
    assert sender_domain(sender) == domain


def test_the_task_builds_a_message_id_from_its_task_id(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[EmailMessage] = []
    recorded: list[Any] = []

    def fake_deliver(
        message: EmailMessage | Outgoing, settings: Settings
    ) -> dict[str, tuple[int, str]]:
        assert isinstance(message, Outgoing), "a plain text email takes the direct path"
        assert sorted(message.recipients) == [
            "ada@example.com",
            "bob@example.com",
            "carol@example.com",
        ]
        parsed = email.message_from_bytes(message.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        sent.append(parsed)
        return {"carol@example.com": (550, "no such user")}

    monkeypatch.setattr(
        deliveries, "sent", lambda a, r, wire: recorded.append((a, r, wire)) or "row"
    )
    monkeypatch.setattr(tasks, "commit_with_outcome", lambda task, rows: recorded.append(rows))
    monkeypatch.setattr(tasks, "deliver", fake_deliver)
    task = SimpleNamespace(
        request=SimpleNamespace(id="3f1c9a7e-task-id", retries=0, workflow_id="wf-1")
    )
    settings = Settings(smtp_from="Switchyard <noreply@switchyard.example>")
    result = tasks.send_email(
        cast(Any, task),
        settings,
        payload(
            to=["ada@example.com"], cc=["carol@example.com"], bcc=["bob@example.com"], text="x"
        ).to_wire(),
    )
    [message] = sent
    assert message["Message-ID"] == "<3f1c9a7e-task-id@switchyard.example>"
    assert "3f1c9a7e-task-id" in result["message_id"]
    assert result["message_id"] == message["Message-ID"]
    assert result["accepted"] == ["ada@example.com", "bob@example.com"]
    assert result["refused"] == [
        {"address": "carol@example.com", "code": 550, "message": "no such user"}
    ]
    # The delivery is recorded once, handed to the result backend with the outcome.
    [(attempt, _, wire), rows] = recorded
    assert (attempt.task_id, attempt.workflow_id, attempt.recipients) == (
        "3f1c9a7e-task-id",
        "wf-1",
        3,
    )
    assert wire == result
    assert rows == ["row"]


@pytest.mark.parametrize(
    "fields",
    [
        {"text": "Hello Ada"},
        {"text": "Two lines\nand a third\n", "cc": ["bob@example.com"]},
        {"text": ".starts with a dot\n\nblank above", "bcc": ["audit@example.com"]},
    ],
)
def test_a_plain_text_email_is_written_as_the_email_package_would_send_it(
    fields: dict[str, Any],
) -> None:
    p = payload(**fields)
    direct = plain_text(p, sender=SENDER, message_id=MESSAGE_ID)
    assert direct is not None
    sender, recipients, received = on_the_wire(build(p))
    assert (direct.sender, direct.recipients) == (sender, recipients)
    written = email.message_from_bytes(direct.data, policy=email.policy.default)
    assert isinstance(written, EmailMessage)
    assert [(k, str(v)) for k, v in written.items() if k != "Date"] == [
        (k, str(v)) for k, v in received.items() if k != "Date"
    ]
    assert written.get_content() == received.get_content()
    assert b"\r\n" in direct.data and b"\n" not in direct.data.replace(b"\r\n", b"")
    assert b"audit@example.com" not in direct.data


@pytest.mark.parametrize(
    "fields",
    [
        {"text": "Schöne Grüße"},
        {"text": "x", "subject": "Grüße"},
        {"text": "x" * 79},
        {"text": "x", "html": "<p>x</p>"},
        {"html": "<p>x</p>"},
        {"text": "x", "attachments": [{"report_id": "9b2f0d4e-3f6b-4b7e-8d9a-0c1e2f3a4b5c"}]},
        {"text": "x", "subject": "a very long subject " * 4},
    ],
)
def test_anything_else_is_left_to_the_email_package(fields: dict[str, Any]) -> None:
    assert plain_text(payload(**fields), sender=SENDER, message_id=MESSAGE_ID) is None
