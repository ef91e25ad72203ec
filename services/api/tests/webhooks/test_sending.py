"""One webhook attempt: the signed body, and the POST to the checked address (a real
HTTP server on loopback)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from api.webhooks.addresses import resolve
from api.webhooks.deliveries import Attempt
from api.webhooks.endpoints import new_secret
from api.webhooks.sending import body_of, post, signed_headers

DOCUMENT = '{"id":"w1","status":"succeeded","steps":[]}'


def test_the_body_carries_the_document_as_it_is_stored() -> None:
    body = body_of("workflow.finished", DOCUMENT)
    assert json.loads(body) == {"type": "workflow.finished", "data": json.loads(DOCUMENT)}
    assert body.endswith(DOCUMENT + "}")


def test_the_signature_verifies_with_the_secret_and_with_no_other() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    body = body_of("workflow.finished", DOCUMENT)
    headers = signed_headers(secret, "msg_1", body, datetime.now(UTC))
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(body, headers)["data"]["id"] == "w1"
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace("succeeded", "failed"), headers)


#: What the receiver was sent: each request's path and Host header.
Seen = list[tuple[str, str | None]]


class Receiver(BaseHTTPRequestHandler):
    """Answers each POST with the status its path names (``/302``), after ``/slow`` waits."""

    seen: Seen

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        type(self).seen.append((self.path, self.headers["host"]))
        if self.path == "/slow":
            time.sleep(2)
        code = int(self.path.strip("/")) if self.path.strip("/").isdigit() else 200
        self.send_response(code)
        if 300 <= code < 400:
            self.send_header("location", "/200")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[int, Seen]]:
    Receiver.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], Receiver.seen
    server.shutdown()
    server.server_close()


def attempt(url: str, timeout: float = 5.0) -> Attempt:
    destination = resolve(url, allow_private=True)
    body = body_of("workflow.finished", DOCUMENT)
    return post(
        destination,
        signed_headers(new_secret(), "m", body, datetime.now(UTC)),
        body,
        timeout=timeout,
    )


def test_a_2xx_delivers_and_the_name_travels_in_host(receiver: tuple[int, Seen]) -> None:
    port, seen = receiver
    made = attempt(f"http://localhost:{port}/204")
    assert made.delivered and made.status_code == 204 and made.error is None
    assert seen == [("/204", f"localhost:{port}")]


def test_a_redirect_is_a_failed_attempt_and_is_not_followed(receiver: tuple[int, Seen]) -> None:
    port, seen = receiver
    made = attempt(f"http://127.0.0.1:{port}/307")
    assert not made.delivered and made.status_code == 307
    assert made.error is not None and "redirects are not followed" in made.error
    assert [path for path, _ in seen] == ["/307"]


def test_an_error_status_and_no_answer_in_time_are_failed_attempts(
    receiver: tuple[int, Seen],
) -> None:
    port, _ = receiver
    assert attempt(f"http://127.0.0.1:{port}/500").error == "HTTP 500"
    slow = attempt(f"http://127.0.0.1:{port}/slow", timeout=0.5)
    assert slow.status_code is None and slow.error == "no answer within 0.5 s"


def test_a_closed_port_is_a_failed_attempt() -> None:
    made = attempt("http://127.0.0.1:9/")
    assert made.status_code is None and made.error is not None and "ConnectError" in made.error
