"""Delivery over SMTP against a real local server (aiosmtpd): transient vs permanent."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from contracts import SendEmail
from email_worker import smtp
from email_worker.config import Settings
from email_worker.mime import build_message
from email_worker.smtp import (
    DeliveryError,
    PermanentDeliveryError,
    SMTPUnavailable,
    TransientDeliveryError,
    deliver,
)

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class Handler:
    """An SMTP server's behaviour, scripted per test."""

    #: Reply to ``MAIL FROM`` instead of accepting it.
    mail_reply: str | None = None
    #: Replies to ``RCPT TO`` for some addresses instead of accepting them.
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    #: Reply to ``DATA`` instead of accepting the message.
    data_reply: str | None = None
    received: list[Received] = field(default_factory=list)
    #: How many SMTP sessions were opened (one EHLO each).
    sessions: int = 0

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.mail_reply is not None:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply is not None:
            return self.data_reply
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@dataclass
class Server:
    handler: Handler
    settings: Settings


@pytest.fixture
def server() -> Iterator[Server]:
    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname=HOST, port=port)
    controller.start()
    try:
        yield Server(handler, Settings(smtp_host=HOST, smtp_port=port, smtp_timeout=5))
    finally:
        smtp.close_session()
        controller.stop()


def a_message(**overrides: Any) -> EmailMessage:
    fields: dict[str, Any] = {
        "to": ["ada@example.com"],
        "cc": ["bob@example.com"],
        "bcc": ["audit@example.com"],
        "subject": "Hello",
        "text": "Hi Ada",
        **overrides,
    }
    return build_message(
        SendEmail.model_validate(fields),
        sender="Switchyard <noreply@switchyard.example>",
        message_id="<task-1@switchyard.example>",
    )


# --- accepted -----------------------------------------------------------------------


def test_an_accepted_message_is_delivered_to_every_recipient(server: Server) -> None:
    refused = deliver(a_message(), server.settings)
    assert refused == {}
    [received] = server.handler.received
    assert received.mail_from == "noreply@switchyard.example"
    assert sorted(received.rcpt_tos) == ["ada@example.com", "audit@example.com", "bob@example.com"]
    assert received.message["Message-ID"] == "<task-1@switchyard.example>"
    assert received.message["Cc"] == "bob@example.com"
    # Bcc recipients get the mail, but nobody sees them in the headers.
    assert received.message["Bcc"] is None
    assert b"audit@example.com" not in received.message.as_bytes()


def test_refused_recipients_are_reported_and_the_others_still_get_it(server: Server) -> None:
    server.handler.rcpt_replies = {"bob@example.com": "550 5.1.1 no such user"}
    refused = deliver(a_message(), server.settings)
    assert refused == {"bob@example.com": (550, "5.1.1 no such user")}
    [received] = server.handler.received
    assert sorted(received.rcpt_tos) == ["ada@example.com", "audit@example.com"]


# --- one session for many messages -------------------------------------------------


def test_messages_share_one_session(server: Server) -> None:
    for _ in range(3):
        assert deliver(a_message(), server.settings) == {}
    assert len(server.handler.received) == 3
    assert server.handler.sessions == 1


def test_a_session_the_server_dropped_is_replaced_without_losing_the_message(
    server: Server,
) -> None:
    deliver(a_message(), server.settings)
    assert smtp._local.session is not None
    kept = smtp._local.session.client.sock
    assert kept is not None
    kept.shutdown(socket.SHUT_RDWR)  # as a server hanging up would
    deliver(a_message(subject="after the drop"), server.settings)
    assert [r.message["Subject"] for r in server.handler.received] == ["Hello", "after the drop"]
    assert server.handler.sessions == 2


def test_an_idle_session_is_closed_and_a_new_one_opened(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(smtp, "IDLE_SECONDS", 0.0)
    deliver(a_message(), server.settings)
    deliver(a_message(), server.settings)
    assert server.handler.sessions == 2


def test_a_failed_delivery_discards_the_session(server: Server) -> None:
    server.handler.data_reply = "451 4.3.0 try again later"
    with pytest.raises(TransientDeliveryError):
        deliver(a_message(), server.settings)
    assert smtp._local.session is None
    server.handler.data_reply = None
    deliver(a_message(), server.settings)
    assert server.handler.sessions == 2


# --- transient: worth retrying ------------------------------------------------------


def test_a_4xx_reply_to_data_is_transient(server: Server) -> None:
    server.handler.data_reply = "451 4.3.0 try again later"
    with pytest.raises(TransientDeliveryError) as exc:
        deliver(a_message(), server.settings)
    assert exc.value.code == 451
    assert str(exc.value) == "the mail server deferred delivery (SMTP 451 4.3.0)"
    # The reply's words (which often name hosts) are for the logs only.
    assert "try again later" in exc.value.detail
    assert server.handler.received == []


def test_a_4xx_reply_to_mail_from_is_transient(server: Server) -> None:
    server.handler.mail_reply = "421 4.7.0 too many connections"
    with pytest.raises(TransientDeliveryError) as exc:
        deliver(a_message(), server.settings)
    assert exc.value.code == 421


def test_every_recipient_deferred_is_transient(server: Server) -> None:
    server.handler.rcpt_replies = {
        "ada@example.com": "450 4.2.1 mailbox busy",
        "bob@example.com": "550 5.1.1 no such user",
        "audit@example.com": "550 5.1.1 no such user",
    }
    # One recipient may still take it later: retry.
    with pytest.raises(TransientDeliveryError) as exc:
        deliver(a_message(), server.settings)
    assert "ada@example.com (450 4.2.1)" in str(exc.value)
    assert "bob@example.com (550 5.1.1)" in str(exc.value)
    assert "mailbox busy" not in str(exc.value)


def test_connection_refused_is_transient() -> None:
    port = free_port()  # nothing listens there
    settings = Settings(smtp_host=HOST, smtp_port=port, smtp_timeout=5)
    with pytest.raises(SMTPUnavailable) as exc:
        deliver(a_message(), settings)
    assert exc.value.code is None
    # The tenant reads what happened, the logs where.
    assert str(exc.value) == "the mail server could not be reached"
    assert f"{HOST}:{port}" in exc.value.detail


@pytest.fixture
def one_shot_server() -> Iterator[Callable[[bytes], int]]:
    """Starts a TCP server that sends ``greeting`` to one connection, then hangs up.

    An empty greeting closes the connection at once. Returns the server's port.
    """
    threads: list[threading.Thread] = []
    listeners: list[socket.socket] = []

    def start(greeting: bytes) -> int:
        listener = socket.socket()
        listener.bind((HOST, 0))
        listener.listen()
        listener.settimeout(5)
        listeners.append(listener)

        def serve() -> None:
            connection, _ = listener.accept()
            with connection:
                if greeting:
                    connection.sendall(greeting)
                    connection.recv(1024)  # the client's next command, or its close

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        threads.append(thread)
        return int(listener.getsockname()[1])

    yield start
    for thread in threads:
        thread.join(timeout=5)
    for listener in listeners:
        listener.close()


def test_a_server_that_hangs_up_is_transient(one_shot_server: Callable[[bytes], int]) -> None:
    port = one_shot_server(b"")
    with pytest.raises(SMTPUnavailable) as exc:
        deliver(a_message(), Settings(smtp_host=HOST, smtp_port=port, smtp_timeout=5))
    assert str(port) not in str(exc.value)


def test_a_421_greeting_is_transient(one_shot_server: Callable[[bytes], int]) -> None:
    port = one_shot_server(b"421 4.3.2 mx1.internal.example service shutting down\r\n")
    with pytest.raises(TransientDeliveryError) as exc:
        deliver(a_message(), Settings(smtp_host=HOST, smtp_port=port, smtp_timeout=5))
    assert exc.value.code == 421
    assert "mx1.internal.example" not in str(exc.value)
    assert "mx1.internal.example" in exc.value.detail


def test_a_server_that_never_answers_times_out_as_transient() -> None:
    with socket.socket() as silent:
        silent.bind((HOST, 0))
        silent.listen()  # connections complete in the backlog; nobody ever speaks
        port = int(silent.getsockname()[1])
        settings = Settings(smtp_host=HOST, smtp_port=port, smtp_timeout=0.2)
        with pytest.raises(SMTPUnavailable) as exc:
            deliver(a_message(), settings)
        assert str(exc.value) == "the mail server did not answer in time"


# --- permanent: retrying cannot help ------------------------------------------------


def test_a_5xx_reply_to_data_is_permanent(server: Server) -> None:
    server.handler.data_reply = "554 5.7.1 message rejected as spam"
    with pytest.raises(PermanentDeliveryError) as exc:
        deliver(a_message(), server.settings)
    assert exc.value.code == 554
    assert str(exc.value) == "the mail server refused delivery (SMTP 554 5.7.1)"
    assert "rejected as spam" in exc.value.detail
    assert server.handler.received == []


def test_a_5xx_reply_to_mail_from_is_permanent(server: Server) -> None:
    server.handler.mail_reply = "553 5.1.8 sender address rejected"
    with pytest.raises(PermanentDeliveryError) as exc:
        deliver(a_message(), server.settings)
    assert exc.value.code == 553


def test_every_recipient_refused_for_good_is_permanent(server: Server) -> None:
    everyone = ("ada@example.com", "bob@example.com", "audit@example.com")
    server.handler.rcpt_replies = dict.fromkeys(everyone, "550 5.1.1 no such user")
    with pytest.raises(PermanentDeliveryError) as exc:
        deliver(a_message(), server.settings)
    assert str(exc.value).startswith("every recipient refused: ada@example.com (550 5.1.1)")
    assert server.handler.received == []


def test_both_kinds_are_delivery_errors() -> None:
    assert issubclass(TransientDeliveryError, DeliveryError)
    assert issubclass(PermanentDeliveryError, DeliveryError)
    assert not issubclass(TransientDeliveryError, PermanentDeliveryError)
    assert not issubclass(PermanentDeliveryError, TransientDeliveryError)
    # An unreachable server is retried like any transient failure.
    assert issubclass(SMTPUnavailable, TransientDeliveryError)
