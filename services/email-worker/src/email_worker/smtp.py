"""Delivering a message over SMTP, and telling transient failures from permanent ones.

Each worker thread (or process) keeps its SMTP session open between messages (connect,
EHLO, STARTTLS and login once, not once per email), as mail servers expect of a sender
of many messages. A session idle for :data:`IDLE_SECONDS` is closed before it is used
again; one the server dropped meanwhile is replaced once, at once; after any failure
the session is discarded, so the next message starts on a clean one.

A failure's message is what the tenant reads in the workflow's status document, so it
says what happened without the mail server's name, address or port, nor its reply text
(replies name hosts and addresses); its ``detail``, for the logs, has all of it.
"""

from __future__ import annotations

import contextlib
import os
import re
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage

from email_worker.config import Settings
from email_worker.mime import Outgoing

#: Seconds a kept session may sit idle; servers commonly hang up after a minute or more.
IDLE_SECONDS = 30.0

#: An RFC 3463 enhanced status code at the start of a reply ("5.1.1 no such user").
_ENHANCED_CODE = re.compile(r"[245]\.\d{1,3}\.\d{1,3}\b")


class DeliveryError(Exception):
    """Delivery failed: ``str()`` is the public message, ``detail`` the full story for
    the logs, ``code`` the SMTP reply code when the server gave one."""

    def __init__(self, message: str, code: int | None = None, *, detail: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.detail = detail or message


class TransientDeliveryError(DeliveryError):
    """Worth retrying: connection refused or lost, a timeout, an SMTP 4xx reply."""


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help: an SMTP 5xx reply (every recipient refused, bad sender...)."""


class SMTPUnavailable(TransientDeliveryError):
    """The mail server could not be reached, or no verified TLS session made with it."""


def _reply_text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def _codes(code: int, text: str) -> str:
    """``451 4.3.0``: the reply code and, when the reply starts with one, its enhanced code."""
    enhanced = _ENHANCED_CODE.match(text.strip())
    return f"{code} {enhanced[0]}" if enhanced else str(code)


def _classify(code: int, text: str, detail: str) -> DeliveryError:
    if 400 <= code < 500:
        return TransientDeliveryError(
            f"the mail server deferred delivery (SMTP {_codes(code, text)})", code, detail=detail
        )
    return PermanentDeliveryError(
        f"the mail server refused delivery (SMTP {_codes(code, text)})", code, detail=detail
    )


@dataclass
class _Session:
    """An open SMTP session, to whom and as whom, for this thread of this process only."""

    key: tuple[object, ...]
    client: smtplib.SMTP
    pid: int
    last_used: float


class _Local(threading.local):
    session: _Session | None = None


_local = _Local()


def _key(settings: Settings) -> tuple[object, ...]:
    return (
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_tls,
        settings.smtp_ca_file,
        settings.smtp_username,
        settings.smtp_password.get_secret_value() if settings.smtp_password else None,
    )


def _tls_context(settings: Settings) -> ssl.SSLContext:
    """A context that verifies the server's certificate and name (against SMTP_CA_FILE)."""
    return ssl.create_default_context(cafile=settings.smtp_ca_file)


def _connect(settings: Settings) -> smtplib.SMTP:
    host, port, timeout = settings.smtp_host, settings.smtp_port, settings.smtp_timeout
    client = (
        smtplib.SMTP_SSL(host, port, timeout=timeout, context=_tls_context(settings))
        if settings.smtp_tls == "implicit"
        else smtplib.SMTP(host, port, timeout=timeout)
    )
    try:
        client.ehlo()
        if settings.smtp_tls == "starttls":
            client.starttls(context=_tls_context(settings))
            client.ehlo()
        if settings.smtp_username:
            password = settings.smtp_password
            client.login(settings.smtp_username, password.get_secret_value() if password else "")
    except BaseException:
        client.close()
        raise
    return client


def close_session() -> None:
    """Say QUIT and forget this thread's session (a forked child just forgets it)."""
    session, _local.session = _local.session, None
    if session is not None and session.pid == os.getpid():
        with contextlib.suppress(smtplib.SMTPException, OSError):
            session.client.quit()
        session.client.close()


def _session_for(settings: Settings) -> tuple[smtplib.SMTP, bool]:
    """This thread's session with the configured server, and whether it was kept."""
    key = _key(settings)
    session = _local.session
    if session is not None and (
        session.pid != os.getpid()
        or session.key != key
        or time.monotonic() - session.last_used > IDLE_SECONDS
    ):
        close_session()
        session = None
    if session is not None:
        return session.client, True
    client = _connect(settings)
    _local.session = _Session(key, client, os.getpid(), time.monotonic())
    return client, False


def _dropped(exc: BaseException) -> bool:
    """The server closed a kept session (idle, restarted): nothing of the message went."""
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code == 421 and not isinstance(exc, smtplib.SMTPDataError)
    return isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)


def _transmit(
    client: smtplib.SMTP, message: EmailMessage | Outgoing
) -> dict[str, tuple[int, bytes]]:
    if isinstance(message, Outgoing):
        return client.sendmail(message.sender, message.recipients, message.data)
    return client.send_message(message)


def _send(message: EmailMessage | Outgoing, settings: Settings) -> dict[str, tuple[int, bytes]]:
    client, kept = _session_for(settings)
    try:
        refused = _transmit(client, message)
    except BaseException as exc:
        close_session()
        if not (kept and _dropped(exc)):
            raise
        client, _ = _session_for(settings)
        try:
            refused = _transmit(client, message)
        except BaseException:
            close_session()
            raise
    session = _local.session
    assert session is not None
    session.last_used = time.monotonic()
    return refused


def _recipients(replies: dict[str, tuple[int, str]]) -> str:
    return ", ".join(f"{addr} ({_codes(code, text)})" for addr, (code, text) in replies.items())


def deliver(message: EmailMessage | Outgoing, settings: Settings) -> dict[str, tuple[int, str]]:
    """Send ``message``; return the recipients the server refused (code, reply).

    Raises :class:`TransientDeliveryError` (:class:`SMTPUnavailable` among them) or
    :class:`PermanentDeliveryError`.
    """
    server = f"SMTP server {settings.smtp_host}:{settings.smtp_port}"
    try:
        refused = _send(message, settings)
    except smtplib.SMTPRecipientsRefused as exc:
        replies = {addr: (code, _reply_text(text)) for addr, (code, text) in exc.recipients.items()}
        detail = f"{server} refused every recipient: {replies}"
        if any(400 <= code < 500 for code, _ in replies.values()):
            raise TransientDeliveryError(
                f"recipients deferred: {_recipients(replies)}", detail=detail
            ) from exc
        raise PermanentDeliveryError(
            f"every recipient refused: {_recipients(replies)}", detail=detail
        ) from exc
    except smtplib.SMTPResponseException as exc:
        text = _reply_text(exc.smtp_error)
        raise _classify(exc.smtp_code, text, f"{server}: {exc.smtp_code} {text}") from exc
    except smtplib.SMTPServerDisconnected as exc:
        # smtplib reports a reply that timed out as a disconnection, the timeout its context.
        timed_out = isinstance(exc.__context__, TimeoutError)
        raise SMTPUnavailable(
            "the mail server did not answer in time"
            if timed_out
            else "the mail server closed the connection",
            detail=f"{server}: {exc}",
        ) from exc
    # SMTPException is an OSError: the protocol errors above must be caught first. Its
    # other messages are smtplib's own ("STARTTLS extension not supported by server.").
    except smtplib.SMTPException as exc:
        raise PermanentDeliveryError(f"SMTP error: {exc}", detail=f"{server}: {exc}") from exc
    except ssl.SSLError as exc:  # a certificate that does not verify, a failed handshake
        raise SMTPUnavailable(
            "no verified TLS session could be made with the mail server",
            detail=f"{server}: {exc}",
        ) from exc
    except TimeoutError as exc:
        raise SMTPUnavailable(
            "the mail server did not answer in time", detail=f"{server}: timed out: {exc}"
        ) from exc
    except OSError as exc:  # refused, unreachable, a name that does not resolve
        raise SMTPUnavailable(
            "the mail server could not be reached", detail=f"{server}: {exc}"
        ) from exc
    return {addr: (code, _reply_text(text)) for addr, (code, text) in refused.items()}
