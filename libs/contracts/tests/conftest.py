"""Shared fixtures of the contracts unit tests: no network, and a team's own Celery app."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery

from contracts import route_task

#: Nothing listens on the discard port of the loopback address.
DEAD_AMQP_URL = "amqp://guest:guest@127.0.0.1:9//"


class NetworkUsed(AssertionError):
    """A unit test tried to open a network connection."""


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise NetworkUsed(f"unit tests must not use the network (args={args!r})")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that opens a Python socket connection or resolves a host name."""
    monkeypatch.setattr(socket.socket, "connect", _refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", _refuse)
    monkeypatch.setattr(socket, "create_connection", _refuse)
    monkeypatch.setattr(socket, "getaddrinfo", _refuse)


@pytest.fixture
def app() -> Iterator[Celery]:
    """What a producer team builds from ``contracts`` alone: plain Celery, routed by it."""
    celery_app = Celery("contracts-unit", broker=DEAD_AMQP_URL, set_as_current=False)
    celery_app.conf.update(task_routes=(route_task,), task_serializer="json")
    yield celery_app
    celery_app.close()
