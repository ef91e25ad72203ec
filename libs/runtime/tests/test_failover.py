"""Connections to every node of a cluster: kombu's alternates and the retries they need."""

from __future__ import annotations

import pytest
from celery import Celery
from kombu import Connection

from switchyard_runtime.celery_app import create_celery_app
from switchyard_runtime.failover import nodes_of, retries_per_node
from switchyard_runtime.settings import PlatformSettings

THREE = "amqp://u:p@a:5672/v;amqp://u:p@b:5673/v;amqp://u:p@c:5674/v"


@pytest.fixture
def cluster_app() -> Celery:
    settings = PlatformSettings.model_validate({"amqp_url": THREE})
    return create_celery_app("failover-unit", settings)


def test_every_connection_of_the_app_fails_over_between_the_nodes(cluster_app: Celery) -> None:
    for connection in (cluster_app.connection_for_write(), cluster_app.connection_for_read()):
        with connection:
            assert connection.alt == THREE.split(";")
            assert (connection.hostname, connection.port) == ("a", 5672)
            assert nodes_of(connection) == 3
            connection.maybe_switch_next()
            assert (connection.hostname, connection.port) == ("b", 5673)
            assert connection.virtual_host == "v"


@pytest.mark.parametrize(("retries", "expected"), [(0, 2), (1, 5), (3, 11)])
def test_each_node_gets_the_tries_one_node_got(retries: int, expected: int) -> None:
    with Connection(THREE) as connection:
        assert retries_per_node(connection, retries) == expected


def test_one_node_keeps_its_count() -> None:
    with Connection("amqp://u:p@a:5672/v") as connection:
        assert nodes_of(connection) == 1
        assert retries_per_node(connection, 1) == 1
