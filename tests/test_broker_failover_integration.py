"""A service given several broker nodes reaches the one that serves, whichever it is.

``AMQP_URL`` names two addresses where nothing listens and then the test broker: every
check and declaration a service makes must get past both, as it would past two stopped
nodes of a cluster (``tests/faults/test_cluster_faults.py`` stops real ones).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import anyio
import pytest
from celery import Celery

from api import readiness
from contracts.email import TRANSACTIONAL_QUEUE
from switchyard_runtime.celery_app import create_celery_app
from switchyard_runtime.dead_letters import read_depths
from switchyard_runtime.declaration import declare_needs
from switchyard_runtime.metrics import QueueDepths
from switchyard_runtime.settings import PlatformSettings
from tests.support.smtp_sink import free_port


def on_port(url: str, port: int) -> str:
    parts = urlsplit(url)
    host = f"{parts.username}:{parts.password}@127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=host))


@pytest.fixture
def app(bare_amqp_url: str, database_url: str) -> Iterator[Celery]:
    stopped = [on_port(bare_amqp_url, free_port()) for _ in range(2)]
    settings = PlatformSettings.model_validate(
        {"amqp_url": ";".join([*stopped, bare_amqp_url]), "database_url": database_url}
    )
    assert len(settings.amqp_urls) == 3
    celery_app = create_celery_app("failover-integration", settings)
    yield celery_app
    celery_app.close()


def test_the_readiness_check_finds_the_third_node(app: Celery) -> None:
    check = readiness.broker(app)
    assert anyio.run(check) == {"broker": "ok"}


def test_declarations_and_queue_reads_reach_the_third_node(app: Celery) -> None:
    declare_needs(app, [TRANSACTIONAL_QUEUE])

    assert read_depths(app, [TRANSACTIONAL_QUEUE.name]) == {TRANSACTIONAL_QUEUE.name: 0}
    depths = QueueDepths(app, lambda: [TRANSACTIONAL_QUEUE.name]).read()
    assert depths == [(TRANSACTIONAL_QUEUE.name, 0, 0)]
