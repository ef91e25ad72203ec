"""Reading mail back from Mailpit's HTTP API, against documents of the shape it serves."""

from __future__ import annotations

import json
import smtplib
from email.message import EmailMessage
from typing import Any

import pytest

from tests.support.mailpit import MailpitMailbox, message_ids, received_from_mailpit
from tests.support.smtp_sink import SmtpSink, free_port

API = "http://mailpit.test:8025"

#: ``GET /api/v1/message/{id}``, the shape of Mailpit 1.21's answer (Go's nil lists are null).
DETAIL: dict[str, Any] = json.loads(
    """
    {
      "ID": "aBcD1234efGh5678",
      "MessageID": "20261123.1@switchyard.localhost",
      "From": {"Name": "Switchyard", "Address": "noreply@switchyard.localhost"},
      "To": [{"Name": "", "Address": "ada@example.com"}],
      "Cc": [{"Name": "Grace", "Address": "grace@example.com"}],
      "Bcc": [{"Name": "", "Address": "audit@example.com"}],
      "ReplyTo": null,
      "ReturnPath": "noreply@switchyard.localhost",
      "Subject": "welcome 1a2b3c4d",
      "ListUnsubscribe": {"Header": "", "Links": [], "Errors": "", "HeaderPost": ""},
      "Date": "2026-11-23T12:00:00Z",
      "Tags": [],
      "Username": "",
      "Text": "Hello Ada\\r\\n",
      "HTML": "<p>Hello <b>Ada</b></p>",
      "Size": 812,
      "Inline": [],
      "Attachments": []
    }
    """
)

#: ``GET /api/v1/message/{id}/raw``: as sent, plus the Return-Path and the Bcc header that
#: Mailpit writes for the recipients only the envelope named.
RAW = b"""\
Return-Path: <noreply@switchyard.localhost>\r
Bcc: audit@example.com\r
From: Switchyard <noreply@switchyard.localhost>\r
To: ada@example.com\r
Cc: Grace <grace@example.com>\r
Subject: welcome 1a2b3c4d\r
Message-ID: <20261123.1@switchyard.localhost>\r
MIME-Version: 1.0\r
Content-Type: multipart/alternative; boundary="b1"\r
\r
--b1\r
Content-Type: text/plain; charset="utf-8"\r
\r
Hello Ada\r
--b1\r
Content-Type: text/html; charset="utf-8"\r
\r
<p>Hello <b>Ada</b></p>\r
--b1--\r
"""


def summary(id_: str, subject: str) -> dict[str, Any]:
    """One entry of ``GET /api/v1/messages``."""
    return {
        "ID": id_,
        "MessageID": f"{id_}@switchyard.localhost",
        "Read": False,
        "From": {"Name": "", "Address": "noreply@switchyard.localhost"},
        "To": [{"Name": "", "Address": f"{id_}@example.com"}],
        "Cc": [],
        "Bcc": None,
        "ReplyTo": [],
        "Subject": subject,
        "Created": "2026-11-23T12:00:00.123Z",
        "Username": "",
        "Tags": [],
        "Size": 400,
        "Attachments": 0,
        "Snippet": "x",
    }


def listing(*summaries: dict[str, Any]) -> dict[str, Any]:
    count = len(summaries)
    return {
        "total": count,
        "unread": count,
        "count": count,
        "messages_count": count,
        "messages_unread": count,
        "start": 0,
        "tags": [],
        "messages": list(summaries),
    }


def test_a_message_reads_as_it_was_sent_with_its_envelope() -> None:
    received = received_from_mailpit(DETAIL, RAW)

    assert received.envelope_from == "noreply@switchyard.localhost"
    assert received.envelope_to == ["ada@example.com", "grace@example.com", "audit@example.com"]
    assert received.subject == "welcome 1a2b3c4d"
    message = received.message
    assert message["Bcc"] is None, "Mailpit's own Bcc header is not the sender's"
    assert message["Message-ID"] == "<20261123.1@switchyard.localhost>"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",))
    assert text is not None and text.get_content().strip() == "Hello Ada"


def test_empty_address_lists_may_be_null() -> None:
    detail = {**DETAIL, "Cc": None, "Bcc": None}
    assert received_from_mailpit(detail, RAW).envelope_to == ["ada@example.com"]


def test_the_listing_gives_ids_newest_first() -> None:
    page = listing(summary("new", "b"), summary("old", "a"))
    assert message_ids(page) == ["new", "old"]
    assert message_ids({**page, "messages": None}) == []


class FakeMailpit:
    """Serves the API's documents for a list of messages, newest first; counts requests."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []  # (id, subject), newest first
        self.requests: list[str] = []

    def deliver(self, id_: str, subject: str) -> None:
        self.messages.insert(0, (id_, subject))

    def get(self, url: str) -> bytes:
        assert url.startswith(API)
        path = url.removeprefix(API)
        self.requests.append(path)
        if path.startswith("/api/v1/messages?"):
            query = dict(part.split("=") for part in path.split("?", 1)[1].split("&"))
            start, limit = int(query["start"]), int(query["limit"])
            page = [summary(*m) for m in self.messages[start : start + limit]]
            return json.dumps(listing(*page)).encode()
        id_ = path.split("/")[4]
        subject = dict(self.messages)[id_]
        if path.endswith("/raw"):
            return RAW.replace(b"welcome 1a2b3c4d", subject.encode())
        to = [{"Name": "", "Address": f"{id_}@example.com"}]
        return json.dumps({**DETAIL, "ID": id_, "Subject": subject, "To": to}).encode()


def test_the_mailbox_waits_like_the_in_process_one_and_reads_each_message_once() -> None:
    server = FakeMailpit()
    mailbox = MailpitMailbox(API + "/", get=server.get)
    server.deliver("m1", "hello")
    server.deliver("m2", "report")

    [hello] = mailbox.wait_for("hello")
    assert hello.subject == "hello"
    assert [m.subject for m in mailbox.wait_for_recipient("m2@example.com")] == ["report"]
    assert mailbox.wait_for("nothing", timeout=0.1) == []

    server.deliver("m3", "hello")
    assert len(mailbox.wait_for("hello", count=2)) == 2
    assert [m.subject for m in mailbox.received()] == ["hello", "report", "hello"], "oldest first"
    reads = [path for path in server.requests if path.startswith("/api/v1/message/")]
    assert sorted(reads) == [
        f"/api/v1/message/{id_}{suffix}" for id_ in ("m1", "m2", "m3") for suffix in ("", "/raw")
    ], "each message read once"


def test_the_mailbox_pages_through_a_long_listing() -> None:
    server = FakeMailpit()
    for n in range(250):
        server.deliver(f"m{n}", f"subject {n}")
    mailbox = MailpitMailbox(API, get=server.get)

    assert len(mailbox.received()) == 250
    pages = [path for path in server.requests if path.startswith("/api/v1/messages?")]
    assert pages == [f"/api/v1/messages?start={start}&limit=100" for start in (0, 100, 200)]

    server.requests.clear()
    server.deliver("m250", "one more")
    assert mailbox.received()[-1].subject == "one more"
    assert [p for p in server.requests if p.startswith("/api/v1/messages?")] == [
        "/api/v1/messages?start=0&limit=100"
    ], "stops at the first message it has already read"


def a_message() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "noreply@switchyard.localhost"
    message["To"] = "ada@example.com"
    message["Subject"] = "relayed"
    message["Message-ID"] = "<relayed.1@switchyard.localhost>"
    message.set_content("Hello Ada")
    return message


def test_the_sink_in_front_scripts_replies_and_passes_the_rest_on_unchanged() -> None:
    upstream = SmtpSink().start()  # where Mailpit's SMTP server would be
    front = SmtpSink(relay_to=(upstream.host, upstream.port)).start()
    recipients = ["ada@example.com", "audit@example.com"]
    try:
        front.mailbox.scripted_replies.append("451 4.3.0 try again later")
        with smtplib.SMTP(front.host, front.port) as client:
            with pytest.raises(smtplib.SMTPDataError) as refused:
                client.send_message(a_message(), to_addrs=recipients)
            assert refused.value.smtp_code == 451
            client.send_message(a_message(), to_addrs=recipients)

        [received] = upstream.mailbox.wait_for("relayed")
        assert received.envelope_from == "noreply@switchyard.localhost"
        assert received.envelope_to == recipients
        assert received.message["Message-ID"] == "<relayed.1@switchyard.localhost>"
        assert received.message["Bcc"] is None
        assert front.mailbox.received() == [], "the front keeps nothing itself"
    finally:
        front.stop()
        upstream.stop()


def test_when_the_sink_behind_is_unreachable_the_front_answers_try_again() -> None:
    front = SmtpSink(relay_to=("127.0.0.1", free_port())).start()
    try:
        with (
            smtplib.SMTP(front.host, front.port) as client,
            pytest.raises(smtplib.SMTPDataError) as unreachable,
        ):
            client.send_message(a_message())
        assert unreachable.value.smtp_code == 451, "transient, so the email worker retries"
    finally:
        front.stop()
