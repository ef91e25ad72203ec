"""SMTP over TLS (implicit and STARTTLS) with login, against a real aiosmtpd server whose
certificate comes from a throwaway CA (trustme)."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from contracts import SendEmail
from email_worker import smtp
from email_worker.config import Settings
from email_worker.mime import build_message
from email_worker.smtp import PermanentDeliveryError, SMTPUnavailable, deliver

HOST = "127.0.0.1"
CREDENTIALS = ("mailer", "s3cret")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def over_tls(server: SMTP) -> bool:
    """Whether this session is encrypted, STARTTLS or implicit: aiosmtpd counts only
    STARTTLS as TLS for AUTH (aio-libs/aiosmtpd#281), so the transport is asked."""
    transport = server.transport
    return transport is not None and transport.get_extra_info("ssl_object") is not None


@dataclass
class Handler:
    """Takes mail only from a session that logged in over TLS with :data:`CREDENTIALS`."""

    received: list[bytes] = field(default_factory=list)
    logins: list[tuple[str, bool]] = field(default_factory=list)

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login = (data.login.decode(), data.password.decode())
        self.logins.append((login[0], over_tls(server)))
        return AuthResult(success=over_tls(server) and login == CREDENTIALS)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not session.authenticated:
            return "530 5.7.0 authentication required"
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.received.append(envelope.content)
        return "250 Message accepted for delivery"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@dataclass
class TlsServer:
    handler: Handler
    port: int


@contextmanager
def tls_server(
    ca: trustme.CA,
    mode: Literal["none", "starttls", "implicit"],
    names: tuple[str, ...] = (HOST, "localhost"),
) -> Iterator[TlsServer]:
    """An SMTP server speaking ``mode`` with a certificate for ``names``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    handler = Handler()
    port = free_port()
    options: dict[str, dict[str, Any]] = {
        "none": {},
        "implicit": {"ssl_context": context},
        "starttls": {"tls_context": context, "require_starttls": True},
    }
    tls = options[mode]
    controller = Controller(
        handler,
        hostname=HOST,
        port=port,
        authenticator=handler.authenticate,
        auth_require_tls=False,  # checked by the handler itself, for implicit TLS too
        **tls,
    )
    controller.start()
    try:
        yield TlsServer(handler, port)
    finally:
        smtp.close_session()
        controller.stop()


@pytest.fixture(params=["implicit", "starttls"])
def server(ca: trustme.CA, request: pytest.FixtureRequest) -> Iterator[TlsServer]:
    with tls_server(ca, request.param) as started:
        yield started


@pytest.fixture
def implicit_server(ca: trustme.CA) -> Iterator[TlsServer]:
    with tls_server(ca, "implicit") as started:
        yield started


def settings_for(server: TlsServer, **overrides: Any) -> Settings:
    fields: dict[str, Any] = {
        "smtp_host": HOST,
        "smtp_port": server.port,
        "smtp_username": CREDENTIALS[0],
        "smtp_password": CREDENTIALS[1],
        "smtp_timeout": 5,
        **overrides,
    }
    return Settings(**fields)


def a_message() -> Any:
    return build_message(
        SendEmail.model_validate({"to": ["ada@example.com"], "subject": "Hello", "text": "Hi"}),
        sender="Switchyard <noreply@switchyard.example>",
        message_id="<task-1@switchyard.example>",
    )


def test_credentials_go_over_tls_and_the_message_is_delivered(
    server: TlsServer, request: pytest.FixtureRequest, ca_file: Path
) -> None:
    mode = request.node.callspec.params["server"]
    assert deliver(a_message(), settings_for(server, smtp_tls=mode, smtp_ca_file=ca_file)) == {}
    assert server.handler.logins == [(CREDENTIALS[0], True)]
    [received] = server.handler.received
    assert b"Subject: Hello" in received


def test_implicit_tls_on_a_name_the_certificate_carries(
    implicit_server: TlsServer, ca_file: Path
) -> None:
    settings = settings_for(
        implicit_server, smtp_host="localhost", smtp_tls="implicit", smtp_ca_file=ca_file
    )
    assert deliver(a_message(), settings) == {}
    assert len(implicit_server.handler.received) == 1


def test_a_certificate_the_worker_does_not_trust_is_refused_before_any_login(
    implicit_server: TlsServer,
) -> None:
    # Without SMTP_CA_FILE only the system's CAs are trusted, and they never signed this.
    settings = settings_for(implicit_server, smtp_tls="implicit")
    with pytest.raises(SMTPUnavailable) as exc:
        deliver(a_message(), settings)
    assert "TLS" in str(exc.value)
    assert str(implicit_server.port) not in str(exc.value)
    assert "certificate" in exc.value.detail.lower()
    assert implicit_server.handler.logins == []


def test_a_certificate_for_another_name_is_refused(ca: trustme.CA, ca_file: Path) -> None:
    # Signed by the trusted CA, but for "localhost" only, while the worker dials 127.0.0.1.
    with tls_server(ca, "implicit", names=("localhost",)) as server:
        settings = settings_for(server, smtp_tls="implicit", smtp_ca_file=ca_file)
        with pytest.raises(SMTPUnavailable) as exc:
            deliver(a_message(), settings)
        assert "127.0.0.1" in exc.value.detail
        assert "127.0.0.1" not in str(exc.value)
        assert server.handler.logins == []


def test_implicit_tls_against_a_plain_server_is_unavailable_not_a_downgrade(
    ca: trustme.CA, ca_file: Path
) -> None:
    with tls_server(ca, "none") as server:
        settings = settings_for(server, smtp_tls="implicit", smtp_ca_file=ca_file)
        with pytest.raises(SMTPUnavailable):
            deliver(a_message(), settings)
        assert server.handler.logins == []
        assert server.handler.received == []


def test_starttls_against_a_server_without_it_fails_before_any_login(
    ca: trustme.CA, ca_file: Path
) -> None:
    with tls_server(ca, "none") as server:
        settings = settings_for(server, smtp_tls="starttls", smtp_ca_file=ca_file)
        with pytest.raises(PermanentDeliveryError, match="STARTTLS"):
            deliver(a_message(), settings)
        assert server.handler.logins == []
