"""The email worker deployed alone, on a vhost where `api migrate` never ran.

It declares what it relies on when it starts: a poison message reaches its queue's
dead-letter queue with the reason, a task sent with a countdown arrives through Celery's
native delayed delivery (still on), and a message no binding matches is caught in
``unroutable``; its log shows no missing exchange.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery

from switchyard_runtime.celery_app import create_celery_app
from switchyard_runtime.dead_letters import QUEUE_HEADER, REASON_HEADER
from switchyard_runtime.settings import PlatformSettings, load_settings
from tests.support import processes
from tests.support.dead_letters import publish_raw, take_message, task_headers

pytestmark = pytest.mark.e2e

#: What Celery and the broker log when a worker relies on something nobody declared.
MISSING = ("NOT_FOUND", "no exchange", "delayed delivery will not be available")


@pytest.fixture
def email_worker(
    bare_amqp_url: str, migrated: dict[str, str], tmp_path: Path
) -> Iterator[processes.ServiceProcess]:
    # The session's database is migrated (results, deliveries); the broker vhost is bare.
    worker = processes.start(
        "email-worker", ["email-worker"], {**migrated, "AMQP_URL": bare_amqp_url}, tmp_path
    )
    try:
        processes.wait_for_log(worker, "ready.")
        yield worker
    finally:
        worker.stop()


@pytest.fixture
def producer(
    bare_amqp_url: str, migrated: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Celery]:
    monkeypatch.setenv("AMQP_URL", bare_amqp_url)
    monkeypatch.setenv("DATABASE_URL", migrated["DATABASE_URL"])
    app = create_celery_app("deployed-alone-tests", load_settings(PlatformSettings))
    yield app
    app.close()


def test_the_email_worker_alone_on_a_bare_vhost_dead_letters_a_poison_message(
    email_worker: processes.ServiceProcess, producer: Celery, bare_amqp_url: str
) -> None:
    marker = uuid.uuid4().hex
    publish_raw(
        bare_amqp_url,
        b"\x00{not json",
        exchange="email",
        routing_key="email.send.transactional",
        headers={**task_headers("email.send"), "x-test-marker": marker},
    )

    letter = take_message(
        bare_amqp_url,
        "email.transactional.dlq",
        lambda letter: letter.headers.get("x-test-marker") == marker,
    )
    assert letter is not None, f"not dead-lettered:\n{email_worker.tail()}"
    assert letter.headers[REASON_HEADER].startswith("UndecodableMessage: "), letter.headers
    assert letter.headers[QUEUE_HEADER] == "email.transactional"

    # Retries go through native delayed delivery: a task sent with a countdown arrives
    # (here one breaking its contract, refused into the bulk lane's dead-letter queue).
    delayed = producer.send_task(
        "email.send",
        kwargs={"to": ["not an address"], "subject": "s", "text": "t", "lane": "bulk"},
        countdown=1,
    )
    letter = take_message(
        bare_amqp_url, "email.bulk.dlq", lambda letter: letter.headers.get("id") == delayed.id
    )
    assert letter is not None, f"the delayed task never arrived:\n{email_worker.tail()}"
    assert letter.headers[REASON_HEADER].startswith("InvalidPayload: "), letter.headers

    publish_raw(
        bare_amqp_url,
        json.dumps({"marker": marker}).encode(),
        exchange="email",
        routing_key="email.send.nowhere",
    )
    caught = take_message(
        bare_amqp_url, "unroutable", lambda letter: marker.encode() in letter.body
    )
    assert caught is not None, "a message no binding matches was dropped"

    logs = email_worker.logs()
    assert "broker topology declared" in logs
    assert [line for line in logs.splitlines() if any(text in line for text in MISSING)] == []
    assert email_worker.alive()
