"""The workers' queue watch, on a real broker: unroutable messages are logged and counted."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest
import structlog
from celery import Celery

from switchyard_runtime.celery_app import create_celery_app
from switchyard_runtime.dead_letters import QueueWatch
from switchyard_runtime.settings import PlatformSettings, load_settings
from tests.support.dead_letters import count_waiting, publish_raw, take_message

pytestmark = pytest.mark.integration

WATCHED = ["unroutable", "email.transactional.dlq", "no.such.queue.dlq"]


@pytest.fixture
def app(migrated: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Celery]:
    monkeypatch.setenv("AMQP_URL", migrated["AMQP_URL"])
    monkeypatch.setenv("DATABASE_URL", migrated["DATABASE_URL"])
    celery_app = create_celery_app("queue-watch-tests", load_settings(PlatformSettings))
    yield celery_app
    celery_app.close()


def watch_once(watch: QueueWatch, app: Celery) -> list[MutableMapping[str, Any]]:
    with structlog.testing.capture_logs() as logs:
        watch.check(app, WATCHED)
    return logs


def test_a_message_no_binding_matches_is_logged_with_the_unroutable_count(
    app: Celery, migrated: dict[str, str]
) -> None:
    url = migrated["AMQP_URL"]
    watch = QueueWatch(parent=None)
    watch_once(watch, app)
    before = count_waiting(url, "unroutable")
    marker = uuid.uuid4().hex

    publish_raw(
        url,
        json.dumps({"marker": marker}).encode(),
        exchange="email",
        routing_key="email.send.nowhere",
        headers={"x-test-marker": marker},
    )
    logs = watch_once(watch, app)

    [grew] = [line for line in logs if line["log_level"] == "warning"]
    assert grew["event"] == "unroutable messages waiting"
    assert grew["queue"] == "unroutable"
    assert (grew["before"], grew["messages"]) == (before, before + 1)
    assert watch.depths["unroutable"] == before + 1
    assert "no.such.queue.dlq" not in watch.depths  # a missing queue is no error
    assert watch_once(watch, app) == [], "an unchanged depth is not logged again"

    taken = take_message(url, "unroutable", lambda m: m.headers.get("x-test-marker") == marker)
    assert taken is not None
    [shrank] = watch_once(watch, app)
    assert (shrank["event"], shrank["messages"]) == ("watched queue shrank", before)
