"""Delivering a message over SMTP, and telling transient failures from permanent ones."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from email_worker.config import Settings


class DeliveryError(Exception):
    """Delivery failed; ``code`` is the SMTP reply code when the server gave one."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class TransientDeliveryError(DeliveryError):
    """Worth retrying: connection refused or lost, a timeout, an SMTP 4xx reply."""


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help: an SMTP 5xx reply (every recipient refused, bad sender...)."""


def _reply_text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def _classify(code: int, text: str) -> DeliveryError:
    if 400 <= code < 500:
        return TransientDeliveryError(f"SMTP {code}: {text}", code)
    return PermanentDeliveryError(f"SMTP {code}: {text}", code)


def deliver(message: EmailMessage, settings: Settings) -> dict[str, tuple[int, str]]:
    """Send ``message``; return the recipients the server refused (code, reply).

    Raises :class:`TransientDeliveryError` or :class:`PermanentDeliveryError`.
    """
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout
        ) as client:
            client.ehlo()
            if settings.smtp_starttls:
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if settings.smtp_username:
                password = settings.smtp_password
                client.login(
                    settings.smtp_username, password.get_secret_value() if password else ""
                )
            refused = client.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        replies = {addr: (code, _reply_text(text)) for addr, (code, text) in exc.recipients.items()}
        if any(400 <= code < 500 for code, _ in replies.values()):
            raise TransientDeliveryError(f"recipients deferred: {replies}") from exc
        raise PermanentDeliveryError(f"every recipient refused: {replies}") from exc
    except smtplib.SMTPResponseException as exc:
        raise _classify(exc.smtp_code, _reply_text(exc.smtp_error)) from exc
    except smtplib.SMTPServerDisconnected as exc:
        raise TransientDeliveryError(f"SMTP connection failed: {exc}") from exc
    # SMTPException is an OSError: the protocol errors above must be caught first.
    except smtplib.SMTPException as exc:
        raise PermanentDeliveryError(f"SMTP error: {exc}") from exc
    except OSError as exc:  # refused, unreachable, timed out
        raise TransientDeliveryError(
            f"cannot reach SMTP server {settings.smtp_host}:{settings.smtp_port}: {exc}"
        ) from exc
    return {addr: (code, _reply_text(text)) for addr, (code, text) in refused.items()}
