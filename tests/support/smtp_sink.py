"""A real SMTP server (aiosmtpd) that keeps what it receives: the tests' and `just dev`'s sink.

Run it alone with ``python -m tests.support.smtp_sink [--port 1025]``: it prints a line
for every message it accepts.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


@dataclass
class Received:
    """One accepted SMTP transaction."""

    envelope_from: str
    envelope_to: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])


@dataclass
class Mailbox:
    """What the sink received; thread safe."""

    messages: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: SMTP replies to give instead of accepting, consumed one per transaction.
    scripted_replies: list[str] = field(default_factory=list)
    #: Cleared by :meth:`hold`: new transactions wait at ``MAIL FROM`` until it is set.
    _open: threading.Event = field(default_factory=threading.Event)
    _waiting: int = 0

    def __post_init__(self) -> None:
        self._open.set()

    def hold(self) -> None:
        """Make new SMTP transactions wait at ``MAIL FROM``, before anything is accepted."""
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def waiting(self) -> int:
        """How many clients are held at ``MAIL FROM`` right now."""
        with self._lock:
            return self._waiting

    async def pass_gate(self) -> None:
        if self._open.is_set():
            return
        with self._lock:
            self._waiting += 1
        try:
            # A client that goes away while held cancels this wait (aiosmtpd does that).
            while not self._open.is_set():
                await asyncio.sleep(0.01)
        finally:
            with self._lock:
                self._waiting -= 1

    def add(self, received: Received) -> None:
        with self._lock:
            self.messages.append(received)

    def next_reply(self) -> str | None:
        with self._lock:
            return self.scripted_replies.pop(0) if self.scripted_replies else None

    def received(self) -> list[Received]:
        """Everything received so far, oldest first."""
        with self._lock:
            return list(self.messages)

    def with_subject(self, subject: str) -> list[Received]:
        return [m for m in self.received() if m.subject == subject]

    def addressed_to(self, address: str) -> list[Received]:
        return [m for m in self.received() if address in m.envelope_to]

    def wait_for(self, subject: str, count: int = 1, timeout: float = 30.0) -> list[Received]:
        """Messages with ``subject`` once there are at least ``count`` (else what is there)."""
        return self._wait(lambda: self.with_subject(subject), count, timeout)

    def wait_for_recipient(
        self, address: str, count: int = 1, timeout: float = 30.0
    ) -> list[Received]:
        """Messages to ``address`` once there are at least ``count`` (else what is there)."""
        return self._wait(lambda: self.addressed_to(address), count, timeout)

    @staticmethod
    def _wait(find: Callable[[], list[Received]], count: int, timeout: float) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = find()
            if len(found) >= count:
                return found
            time.sleep(0.05)
        return find()


def _relay(to: tuple[str, int], envelope: Any) -> None:
    with smtplib.SMTP(*to, timeout=30) as upstream:
        upstream.sendmail(envelope.mail_from, list(envelope.rcpt_tos), envelope.content)


def _over_tls(server: SMTP) -> bool:
    # aiosmtpd counts only STARTTLS as TLS for AUTH, not implicit TLS
    # (aio-libs/aiosmtpd#281): ask the transport itself.
    transport = server.transport
    return transport is not None and transport.get_extra_info("ssl_object") is not None


class _Handler:
    def __init__(
        self,
        mailbox: Mailbox,
        echo: bool,
        relay_to: tuple[str, int] | None,
        credentials: tuple[str, str] | None = None,
        latency: float = 0.0,
    ) -> None:
        self.mailbox = mailbox
        self.echo = echo
        self.relay_to = relay_to
        self.credentials = credentials
        self.latency = latency

    def authenticate(
        self, server: SMTP, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        """Only :attr:`credentials`, and only over TLS."""
        if not isinstance(data, LoginPassword) or not _over_tls(server):
            return AuthResult(success=False)
        login = (data.login.decode(), data.password.decode())
        return AuthResult(success=login == self.credentials)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.credentials is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        await self.mailbox.pass_gate()
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.latency:
            # A relay's answer to DATA takes its time (queueing, checks, a disk write).
            await asyncio.sleep(self.latency)
        reply = self.mailbox.next_reply()
        if reply is not None:
            return reply
        if self.relay_to is not None:
            try:
                await asyncio.to_thread(_relay, self.relay_to, envelope)
            except (OSError, smtplib.SMTPException) as exc:
                return f"451 4.4.0 could not pass the message on: {exc}"
            return "250 Message accepted for delivery"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        received = Received(envelope.mail_from, list(envelope.rcpt_tos), message)
        self.mailbox.add(received)
        if self.echo:
            print(
                f"[smtp-sink] from={received.envelope_from} to={','.join(received.envelope_to)}"
                f" subject={received.subject!r} message-id={message['Message-ID']}",
                flush=True,
            )
        return "250 Message accepted for delivery"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class SmtpSink:
    """Starts an aiosmtpd server on ``host:port`` (0 picks a free port).

    With ``relay_to``, it keeps nothing itself: it answers with the scripted replies and hands
    every other message, unchanged, to that SMTP server, and ``mailbox`` reads them back from
    there (see ``tests.support.mailpit``). With ``implicit_tls``, it speaks TLS from the first
    byte (SMTPS) with that context; with ``credentials``, it takes mail only from a client
    that logged in with them over TLS. With ``latency`` (seconds), it answers each
    message's DATA that much later, as a real relay does in tens of milliseconds.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        echo: bool = False,
        *,
        mailbox: Mailbox | None = None,
        relay_to: tuple[str, int] | None = None,
        implicit_tls: ssl.SSLContext | None = None,
        credentials: tuple[str, str] | None = None,
        latency: float = 0.0,
    ) -> None:
        self.mailbox = mailbox or Mailbox()
        self.host = host
        self.port = port or free_port(host)
        handler = _Handler(self.mailbox, echo, relay_to, credentials, latency)
        login: dict[str, Any] = {}
        if credentials is not None:
            # TLS is checked by the authenticator itself (see _over_tls).
            login = {"authenticator": handler.authenticate, "auth_require_tls": False}
        self._controller = Controller(
            handler, hostname=host, port=self.port, ssl_context=implicit_tls, **login
        )

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="answer each DATA this much later"
    )
    parser.add_argument("--quiet", action="store_true", help="no line per message")
    args = parser.parse_args()
    sink = SmtpSink(
        args.host, args.port, echo=not args.quiet, latency=args.latency_ms / 1000
    ).start()
    print(f"[smtp-sink] listening on {args.host}:{sink.port}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sink.stop()


if __name__ == "__main__":
    main()
