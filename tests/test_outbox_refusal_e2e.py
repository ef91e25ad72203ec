"""A message the broker refuses delays no other message and fails its own workflow.

The bulk email queue is over its ``max-length`` (an operator's policy; no bulk worker
runs), so the broker refuses (``basic.nack``) every further bulk message, while the
transactional lane is open. The refused message backs off alone and is given up after
``OUTBOX_MAX_ATTEMPTS``; transactional emails submitted right after it are delivered
meanwhile, and ``/readyz`` stays ready: one refused message is not the broker failing.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from kombu import Connection

from tests.support import processes
from tests.support.infra import (
    fresh_database,
    fresh_vhost,
    provide_broker,
    provide_database,
    queue_policy,
)
from tests.support.smtp_sink import SmtpSink, free_port

pytestmark = pytest.mark.e2e

MAX_ATTEMPTS = 3
#: Seconds before a refused message's second attempt (5 to 10 with jitter), then its third
#: (another 5 to 10): the other emails go out long before it is given up.
BACKOFF = 10


@dataclass
class Refusing:
    """An API and an email worker on a vhost whose bulk queue is over its limit."""

    env: dict[str, str]
    api_url: str
    api_key: str

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.api_url, timeout=40, headers=processes.bearer(self.api_key)
        )

    def queued(self, queue: str) -> int:
        with Connection(self.env["AMQP_URL"]) as connection:
            channel: Any = connection.default_channel
            return int(channel.queue_declare(queue=queue, passive=True).message_count)

    def outbox(self, workflow_id: str) -> dict[str, Any] | None:
        return self._row("SELECT attempts, last_error FROM api.outbox", workflow_id)

    def dead(self, workflow_id: str) -> dict[str, Any] | None:
        return self._row("SELECT attempts, last_error FROM api.outbox_dead", workflow_id)

    def _row(self, select: str, workflow_id: str) -> dict[str, Any] | None:
        with psycopg.connect(self.env["DATABASE_URL"]) as conn:
            row = conn.execute(f"{select} WHERE workflow_id = %s", (workflow_id,)).fetchone()
        return None if row is None else {"attempts": row[0], "last_error": row[1]}


@pytest.fixture(scope="module")
def refusing(smtp_sink: SmtpSink, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Refusing]:
    log_dir = tmp_path_factory.mktemp("refusal")
    with (
        provide_broker(os.environ) as (broker, management),
        fresh_vhost(broker, management) as amqp_url,
        provide_database(os.environ) as server,
        fresh_database(server) as database_url,
    ):
        env = {
            "AMQP_URL": amqp_url,
            "DATABASE_URL": database_url,
            "SMTP_HOST": smtp_sink.host,
            "SMTP_PORT": str(smtp_sink.port),
            "API_HOST": "127.0.0.1",
            "API_PORT": str(free_port()),
            "OUTBOX_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
            "OUTBOX_RETRY_BACKOFF": str(BACKOFF),
            "OUTBOX_RETRY_BACKOFF_MAX": str(BACKOFF),
            "EMAIL_QUEUES": "email.transactional",
            "WORKER_CONCURRENCY": "2",
        }
        processes.run(["api", "migrate"], env)
        processes.run(["email-worker", "migrate"], env)
        started: list[processes.ServiceProcess] = []
        with queue_policy(
            amqp_url,
            management,
            name="bulk-limit",
            pattern=r"^email\.bulk$",
            definition={"max-length": 1},
        ):
            try:
                started.append(processes.start("email-worker", ["email-worker"], env, log_dir))
                started.append(processes.start("api", ["api"], env, log_dir))
                processes.wait_for_log(started[0], "ready.")
                api_url = f"http://127.0.0.1:{env['API_PORT']}"
                processes.wait_until_ready(started[1], f"{api_url}/readyz")
                yield Refusing(env, api_url, processes.create_api_key(env, "refusal"))
            finally:
                for service in reversed(started):
                    service.stop()


def email(subject: str, lane: str) -> dict[str, Any]:
    return {"to": ["ada@example.com"], "subject": subject, "text": "refusal", "lane": lane}


def refused_once(row: dict[str, Any] | None) -> dict[str, Any] | None:
    """The outbox row once the broker has refused it at least once."""
    return row if row is not None and row["attempts"] >= 1 else None


def wait_for(what: str, check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)
    return found


def test_a_refused_message_fails_its_workflow_and_delays_no_other(
    refusing: Refusing, smtp_sink: SmtpSink
) -> None:
    run = uuid.uuid4().hex[:6]
    with refusing.client() as client:

        def submit(subject: str, lane: str) -> str:
            response = client.post("/v1/emails", json=email(subject, lane))
            assert response.status_code == 202, response.text
            return str(response.json()["workflow_id"])

        # Quorum queues refuse once they hold more than their limit: two bulk emails.
        for n in range(2):
            submit(f"refusal {run} filler {n}", "bulk")
        wait_for("the bulk queue to fill", lambda: refusing.queued("email.bulk") == 2, 30)

        refused = submit(f"refusal {run} refused", "bulk")
        first = wait_for("the first refusal", lambda: refused_once(refusing.outbox(refused)), 30)
        assert first["attempts"] == 1
        assert "basic.nack" in first["last_error"]

        wanted = [f"refusal {run} transactional {n}" for n in range(5)]
        for subject in wanted:
            submit(subject, "transactional")
        wait_for(
            "the transactional emails",
            lambda: all(smtp_sink.mailbox.with_subject(s) for s in wanted),
            30,
        )
        # Delivered while the refused message was still waiting for a later attempt.
        waiting = refusing.outbox(refused)
        assert waiting is not None, "the refused message was given up before the others went"
        assert waiting["attempts"] < MAX_ATTEMPTS
        assert client.get("/readyz").status_code == 200

        document = client.get(f"/v1/workflows/{refused}")
        assert document.json()["status"] == "queued"
        etag = document.headers["etag"]
        deadline = time.monotonic() + 4 * BACKOFF
        while True:  # a long poll: answered when the relay stores the failure
            changed = client.get(
                f"/v1/workflows/{refused}", params={"wait": 30}, headers={"If-None-Match": etag}
            )
            if changed.status_code == 200 or time.monotonic() > deadline:
                break
        assert changed.status_code == 200, changed.text

    failed = changed.json()
    assert failed["status"] == "failed", failed
    assert failed["finished_at"] is not None
    assert failed["error"]["type"] == "PublishFailed"
    message = failed["error"]["message"]
    assert "basic.nack" in message and f"after {MAX_ATTEMPTS} attempts" in message
    broker = urlsplit(refusing.env["AMQP_URL"])
    assert broker.hostname not in message and str(broker.port) not in message
    assert [step["status"] for step in failed["steps"]] == ["failed"]
    assert failed["steps"][0]["error"] == failed["error"]

    assert refusing.outbox(refused) is None
    dead = refusing.dead(refused)
    assert dead is not None and dead["attempts"] == MAX_ATTEMPTS
    assert smtp_sink.mailbox.with_subject(f"refusal {run} refused") == []
    assert all(len(smtp_sink.mailbox.with_subject(s)) == 1 for s in wanted)
