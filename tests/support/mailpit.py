"""Mailpit as the tests' mail store when they start their own containers.

Mailpit cannot refuse one chosen message (its chaos triggers are random and global), and
the e2e tests script such refusals, so the in-process sink stays the services' SMTP server:
it gives the scripted replies itself and hands every other message on, unchanged, to the
Mailpit container. The tests read what Mailpit stored through its HTTP API
(``/api/v1/messages``, ``/api/v1/message/{id}``), with the in-process mailbox's waits.
"""

from __future__ import annotations

import email
import email.policy
import itertools
import json
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

from tests.support.smtp_sink import Mailbox, Received, SmtpSink

#: The image docker-compose.yml runs, so the tests and `just up` see the same server.
IMAGE = "axllent/mailpit:v1.21"
SMTP_PORT = 1025
HTTP_PORT = 8025
#: Messages per listing request.
PAGE = 100


def _addresses(detail: Mapping[str, Any], header: str) -> list[str]:
    # Mailpit sends an empty address list as null.
    return [str(entry["Address"]) for entry in detail.get(header) or []]


def received_from_mailpit(detail: Mapping[str, Any], raw: bytes) -> Received:
    """One message, from its ``/api/v1/message/{id}`` document and its raw source.

    Mailpit keeps no envelope. The sender is its ``ReturnPath``; the recipients are those of
    the To and Cc headers plus those only the envelope named, which Mailpit writes into a Bcc
    header of its copy. That header is removed here, so the message reads as it was sent; a
    Bcc header written by the sender is therefore not visible on this path either (the email
    worker's unit tests, on the in-process sink, check that it writes none).
    """
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    del message["Bcc"]
    recipients = [_addresses(detail, header) for header in ("To", "Cc", "Bcc")]
    envelope_to = list(dict.fromkeys(itertools.chain.from_iterable(recipients)))
    return Received(str(detail["ReturnPath"]), envelope_to, message)


def message_ids(listing: Mapping[str, Any]) -> list[str]:
    """The ids on one page of ``/api/v1/messages``, newest first as Mailpit lists them."""
    return [str(summary["ID"]) for summary in listing.get("messages") or []]


def _http_get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        body: bytes = response.read()
        return body


class MailpitMailbox(Mailbox):
    """What Mailpit holds, read over its HTTP API; waits like the in-process mailbox.

    ``get`` fetches a URL (tests pass a fake one); scripted replies are the in-process
    sink's, which sits in front of Mailpit.
    """

    def __init__(self, api_url: str, get: Callable[[str], bytes] = _http_get) -> None:
        super().__init__()
        self.api_url = api_url.rstrip("/")
        self._get = get
        self._read: dict[str, Received] = {}

    def _fetch(self, path: str) -> bytes:
        return self._get(self.api_url + path)

    def received(self) -> list[Received]:
        with self._lock:
            unread: list[str] = []
            start = 0
            while True:
                listing = json.loads(self._fetch(f"/api/v1/messages?start={start}&limit={PAGE}"))
                ids = message_ids(listing)
                # Newest first: past the first message already read, all were read before.
                new = list(itertools.takewhile(lambda id_: id_ not in self._read, ids))
                unread += [id_ for id_ in new if id_ not in unread]
                if len(new) < len(ids) or len(ids) < PAGE:
                    break
                start += len(ids)
            for id_ in reversed(unread):
                detail = json.loads(self._fetch(f"/api/v1/message/{id_}"))
                raw = self._fetch(f"/api/v1/message/{id_}/raw")
                self._read[id_] = received_from_mailpit(detail, raw)
            return list(self._read.values())


@contextmanager
def mailpit_sink() -> Iterator[SmtpSink]:
    """A Mailpit container behind the in-process sink, whose mailbox reads from Mailpit."""
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import HttpWaitStrategy

    container = (
        DockerContainer(IMAGE)
        # By default Mailpit keeps the newest 500 messages; a session's must all stay.
        .with_env("MP_MAX_MESSAGES", "0")
        .with_exposed_ports(SMTP_PORT, HTTP_PORT)
        .waiting_for(HttpWaitStrategy(HTTP_PORT, "/readyz").for_status_code(200))
    )
    with container:
        host = container.get_container_host_ip()
        sink = SmtpSink(
            mailbox=MailpitMailbox(f"http://{host}:{container.get_exposed_port(HTTP_PORT)}"),
            relay_to=(host, int(container.get_exposed_port(SMTP_PORT))),
        ).start()
        try:
            yield sink
        finally:
            sink.stop()
