"""One attempt as the task makes it: the URL is checked again before anything is sent."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from uuid import uuid4

import pytest
from standardwebhooks.webhooks import Webhook

from api.config import Settings
from api.webhooks.deliveries import Delivery
from api.webhooks.endpoints import new_secret
from api.webhooks.task import attempt, schedule_of


class Recorder(BaseHTTPRequestHandler):
    bodies: list[tuple[bytes, dict[str, str]]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        type(self).bodies.append((body, dict(self.headers)))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def port() -> Iterator[int]:
    Recorder.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def delivery(url: str, secret: str = "whsec_c2VjcmV0") -> Delivery:
    return Delivery(
        id=uuid4(),
        endpoint_id=uuid4(),
        workflow_id=uuid4(),
        event="workflow.finished",
        message_id="msg_1",
        status="pending",
        attempts=0,
        first_attempt_at=None,
        url=url,
        secret=secret,
        endpoint_deleted=False,
        document='{"id":"w","status":"failed"}',
    )


def test_an_attempt_to_a_private_address_is_refused_before_anything_is_sent(port: int) -> None:
    # Registered while allowed, say, or a name that now resolves to a private address.
    made = attempt(delivery(f"http://127.0.0.1:{port}/"), Settings(webhook_allow_private=False))
    assert not made.delivered and made.status_code is None
    assert made.error is not None and made.error.startswith("url refused: ")
    assert "loopback" in made.error
    assert Recorder.bodies == []


def test_an_allowed_attempt_posts_the_signed_document(port: int) -> None:
    secret = new_secret()
    made = attempt(
        delivery(f"http://localhost:{port}/", secret), Settings(webhook_allow_private=True)
    )
    assert made.delivered and made.status_code == 200
    [(body, headers)] = Recorder.bodies
    assert Webhook(secret).verify(body, headers) == {
        "type": "workflow.finished",
        "data": {"id": "w", "status": "failed"},
    }


def test_the_schedule_comes_from_the_settings() -> None:
    schedule = schedule_of(
        Settings(webhook_retry_base=2, webhook_retry_max=8, webhook_retry_for=60)
    )
    assert (schedule.base, schedule.cap, schedule.window) == (2, 8, 60)
