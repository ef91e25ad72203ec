"""Shared fixtures of the runtime unit tests: no network, no ambient configuration."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery

from switchyard_runtime.celery_app import create_celery_app
from switchyard_runtime.settings import PlatformSettings

#: Nothing listens on the discard port of the loopback address: a connection attempt fails
#: at once instead of reaching a broker or a database that CI happens to run.
DEAD_AMQP_URL = "amqp://guest:guest@127.0.0.1:9//"
DEAD_DATABASE_URL = "postgresql://tester:secret@127.0.0.1:9/unit"

SETTINGS_VARIABLES = (
    "AMQP_URL",
    "DATABASE_URL",
    "TASK_EVENTS",
    "TENANT_PRODUCERS",
    "SCHEDULER_TENANT",
)


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


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the test alone, never from the shell that runs pytest."""
    for name in SETTINGS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> PlatformSettings:
    """Settings read from the environment, pointing at addresses where nothing listens."""
    monkeypatch.setenv("AMQP_URL", DEAD_AMQP_URL)
    monkeypatch.setenv("DATABASE_URL", DEAD_DATABASE_URL)
    return PlatformSettings()


@pytest.fixture
def app(settings: PlatformSettings) -> Iterator[Celery]:
    celery_app = create_celery_app("runtime-unit", settings)
    yield celery_app
    celery_app.close()
