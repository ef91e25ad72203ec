"""Broker users holding exactly the compose file's grants, on a fresh vhost of the test broker."""

from __future__ import annotations

import os
import subprocess
import urllib.parse
import uuid
from collections.abc import Iterator

import pytest

from tests.deploy.compose import definitions
from tests.support.infra import fresh_vhost, provide_broker

#: The services with a broker user of their own (the admin aside), as the compose file names them.
SERVICES = ("api", "api-intake", "email-worker", "report-worker", "scheduler")


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def amqp_admin_url() -> Iterator[str]:
    """A fresh vhost on the test broker, as a user allowed everything (the admin)."""
    with provide_broker(os.environ) as (url, management), fresh_vhost(url, management) as fresh:
        yield fresh


@pytest.fixture
def service_users(amqp_admin_url: str) -> Iterator[dict[str, str]]:
    """One broker user per service with the compose file's grants; the AMQP URL of each."""
    vhost = urllib.parse.unquote(urllib.parse.urlsplit(amqp_admin_url).path[1:])
    suffix = uuid.uuid4().hex[:6]
    grants = {p["user"]: p for p in definitions()["permissions"]}
    urls = {}
    try:
        for service in SERVICES:
            user, password = f"{service}-{suffix}", uuid.uuid4().hex
            rabbitmqctl("add_user", user, password)
            grant = grants[service]
            rabbitmqctl(
                "set_permissions",
                "-p",
                vhost,
                user,
                grant["configure"],
                grant["write"],
                grant["read"],
            )
            parts = urllib.parse.urlsplit(amqp_admin_url)
            urls[service] = urllib.parse.urlunsplit(
                parts._replace(netloc=f"{user}:{password}@{parts.hostname}:{parts.port or 5672}")
            )
        yield urls
    finally:
        for service in SERVICES:
            subprocess.run(
                ["rabbitmqctl", "-q", "delete_user", f"{service}-{suffix}"],
                capture_output=True,
                check=False,
                timeout=60,
            )
