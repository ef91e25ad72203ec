"""Where the tests' RabbitMQ, PostgreSQL and SMTP sink come from; a fresh vhost and database.

``TEST_AMQP_URL`` and ``TEST_DATABASE_URL`` name running servers; without them the tests
start containers with testcontainers; without Docker either, the run fails and says how
to provide them. Integration tests never skip silently. Mail goes to the in-process sink,
which, when the tests start their own containers, passes it on to a Mailpit container.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
import urllib.request
import uuid
from base64 import b64encode
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import psycopg

from tests.support.mailpit import mailpit_sink
from tests.support.smtp_sink import SmtpSink

HOW_TO_PROVIDE = (
    "set TEST_AMQP_URL (e.g. amqp://guest:guest@127.0.0.1:5672//) and TEST_DATABASE_URL "
    "(e.g. postgresql://postgres@127.0.0.1:5432/postgres) to running servers, "
    "or make a Docker engine available so the tests can start containers"
)


class InfrastructureUnavailable(RuntimeError):
    """Neither a given URL nor Docker: the tests cannot get a real broker or database."""


@dataclass(frozen=True)
class Source:
    """How one backing service is provided: a given URL, or a container to start."""

    kind: str  # "url" or "container"
    url: str | None = None


def choose_source(
    env: Mapping[str, str], variable: str, docker_available: Callable[[], bool]
) -> Source:
    """A URL from ``variable`` wins; else a container if Docker answers; else fail loudly."""
    url = env.get(variable, "").strip()
    if url:
        return Source("url", url)
    if docker_available():
        return Source("container")
    raise InfrastructureUnavailable(
        f"{variable} is not set and Docker is unavailable: " + HOW_TO_PROVIDE
    )


def choose_smtp_sink(
    env: Mapping[str, str], docker_available: Callable[[], bool]
) -> Literal["in-process", "mailpit"]:
    """Mailpit when the tests start their own containers; else the in-process sink alone.

    Given servers (either URL) mean a machine that runs its own services, where the
    in-process sink needs nothing more; with neither URL nor Docker, the broker and
    database fixtures fail and say why, so the sink stays in process.
    """
    if any(env.get(variable, "").strip() for variable in ("TEST_AMQP_URL", "TEST_DATABASE_URL")):
        return "in-process"
    return "mailpit" if docker_available() else "in-process"


def docker_available() -> bool:
    """Whether a Docker engine answers (the client alone is not enough)."""
    if shutil.which("docker") is None:
        return False
    try:
        result = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and bool(result.stdout.strip())


# --- RabbitMQ -------------------------------------------------------------------------


def with_vhost(amqp_url: str, vhost: str) -> str:
    parts = urllib.parse.urlsplit(amqp_url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + urllib.parse.quote(vhost, safe="")))


def _management_request(
    api: str,
    user: str,
    password: str,
    method: str,
    path: str,
    body: Mapping[str, object] | None = None,
) -> None:
    if body is None and "permissions" in path:
        body = {"configure": ".*", "write": ".*", "read": ".*"}
    request = urllib.request.Request(
        api.rstrip("/") + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else b"",
        headers={
            "content-type": "application/json",
            "authorization": "Basic " + b64encode(f"{user}:{password}".encode()).decode(),
        },
    )
    with urllib.request.urlopen(request, timeout=30):
        pass


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=120)


@contextmanager
def fresh_vhost(
    amqp_url: str, management_url: str | None = None, *, prefix: str = "test"
) -> Iterator[str]:
    """A new vhost on the broker of ``amqp_url`` for this test session; deleted afterwards.

    Uses the management HTTP API when ``management_url`` is given (or the broker is not
    local), else ``rabbitmqctl`` on this machine. ``prefix`` starts its name (the
    benchmark's are ``bench-...``), so a leftover tells who made it.
    """
    parts = urllib.parse.urlsplit(amqp_url)
    user = urllib.parse.unquote(parts.username or "guest")
    password = urllib.parse.unquote(parts.password or "guest")
    vhost = f"{prefix}-{uuid.uuid4().hex[:10]}"
    quoted = urllib.parse.quote(vhost, safe="")
    create: Callable[[], None]
    delete: Callable[[], None]
    if management_url:

        def create() -> None:
            _management_request(management_url, user, password, "PUT", f"/api/vhosts/{quoted}")
            _management_request(
                management_url, user, password, "PUT", f"/api/permissions/{quoted}/{user}"
            )

        def delete() -> None:
            _management_request(management_url, user, password, "DELETE", f"/api/vhosts/{quoted}")

    elif shutil.which("rabbitmqctl"):

        def create() -> None:
            _rabbitmqctl("add_vhost", vhost)
            _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")

        def delete() -> None:
            _rabbitmqctl("delete_vhost", vhost)

    else:
        raise InfrastructureUnavailable(
            "cannot create a vhost: set TEST_RABBITMQ_MANAGEMENT_URL "
            "(e.g. http://127.0.0.1:15672) or install rabbitmqctl on this machine"
        )
    create()
    try:
        yield with_vhost(amqp_url, vhost)
    finally:
        delete()


@contextmanager
def queue_policy(
    vhost_url: str,
    management_url: str | None,
    *,
    name: str,
    pattern: str,
    definition: Mapping[str, object],
) -> Iterator[None]:
    """A policy on the queues of ``vhost_url``'s vhost whose names match ``pattern`` (an
    operator's ``max-length``, say), cleared afterwards; the way :func:`fresh_vhost` reaches
    the broker."""
    parts = urllib.parse.urlsplit(vhost_url)
    user = urllib.parse.unquote(parts.username or "guest")
    password = urllib.parse.unquote(parts.password or "guest")
    vhost = urllib.parse.unquote(parts.path[1:]) or "/"
    path = f"/api/policies/{urllib.parse.quote(vhost, safe='')}/{urllib.parse.quote(name)}"
    if management_url:
        body = {"pattern": pattern, "definition": dict(definition), "apply-to": "queues"}
        _management_request(management_url, user, password, "PUT", path, body)
    else:
        _rabbitmqctl(
            "set_policy", "-p", vhost, "--apply-to", "queues", name, pattern, json.dumps(definition)
        )
    try:
        yield
    finally:
        if management_url:
            _management_request(management_url, user, password, "DELETE", path)
        else:
            _rabbitmqctl("clear_policy", "-p", vhost, name)


# --- PostgreSQL -----------------------------------------------------------------------


def with_database(database_url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(database_url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


@contextmanager
def fresh_database(database_url: str, *, prefix: str = "test") -> Iterator[str]:
    """A new database on the server of ``database_url``; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(database_url, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- containers -----------------------------------------------------------------------


@contextmanager
def rabbitmq_container() -> Iterator[tuple[str, str]]:
    """A RabbitMQ container (management image): its AMQP URL and management API URL."""
    from testcontainers.community.rabbitmq import RabbitMqContainer

    with RabbitMqContainer("rabbitmq:3.13-management") as container:
        host = container.get_container_host_ip()
        amqp_port = container.get_exposed_port(5672)
        # RabbitMqContainer has no get_connection_url(): build the URL from its parts.
        yield (
            f"amqp://guest:guest@{host}:{amqp_port}//",
            f"http://{host}:{container.get_exposed_port(15672)}",
        )


@contextmanager
def postgres_container() -> Iterator[str]:
    """A PostgreSQL container; its URL in the plain postgresql:// form."""
    from testcontainers.community.postgres import PostgresContainer

    with PostgresContainer("postgres:16-alpine", driver=None) as container:
        yield container.get_connection_url()


@contextmanager
def provide_broker(env: Mapping[str, str]) -> Iterator[tuple[str, str | None]]:
    """A running broker for this session: (AMQP URL, management API URL or None)."""
    source = choose_source(env, "TEST_AMQP_URL", docker_available)
    if source.url is not None:
        yield source.url, env.get("TEST_RABBITMQ_MANAGEMENT_URL") or None
        return
    with rabbitmq_container() as urls:
        yield urls


@contextmanager
def provide_database(env: Mapping[str, str]) -> Iterator[str]:
    """A running PostgreSQL server for this session: its URL."""
    source = choose_source(env, "TEST_DATABASE_URL", docker_available)
    if source.url is not None:
        yield source.url
        return
    with postgres_container() as url:
        yield url


@contextmanager
def provide_smtp_sink(env: Mapping[str, str]) -> Iterator[SmtpSink]:
    """The session's SMTP sink, in front of a Mailpit container when it has one."""
    if choose_smtp_sink(env, docker_available) == "mailpit":
        with mailpit_sink() as sink:
            yield sink
        return
    sink = SmtpSink().start()
    try:
        yield sink
    finally:
        sink.stop()
