"""The PostgreSQL and RabbitMQ servers as processes on this machine, so that their CPU
counts in the cost of an email like every service's does.

A server counts only when the suite can prove the process it found is the one it talks
to: the PostgreSQL backend serving the suite's own connection (matched by that
connection's port), whose parent is the postmaster; the ``beam.smp`` listening on the
AMQP port of a local address. A server elsewhere (another host, a container) is
reported missing, with the reason, and the figures leave it out.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import psutil
import psycopg


@dataclass
class Servers:
    """The root process of each server found; why each missing one is missing."""

    pids: dict[str, int] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)


def _local_addresses() -> set[str]:
    addresses = {"localhost", "127.0.0.1", "::1"}
    for entries in psutil.net_if_addrs().values():
        addresses.update(entry.address.split("%", 1)[0] for entry in entries)
    return addresses


def _is_local(host: str | None) -> bool:
    if not host or host.startswith("/"):
        return True  # a Unix socket
    try:
        resolved = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(resolved & _local_addresses())


def postmaster(database_url: str) -> int | str:
    """The postmaster's pid, or why it cannot be measured."""
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    if not _is_local(urlsplit(url).hostname):
        return f"PostgreSQL at {urlsplit(url).hostname} is not on this machine"
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        backend = int(row[0]) if row else 0
        # Our side of the connection, to recognise the backend's side of it.
        with socket.socket(fileno=socket.dup(conn.pgconn.socket)) as ours:
            our_end = ours.getsockname()
        try:
            process = psutil.Process(backend)
            peers = {c.raddr for c in process.net_connections(kind="inet") if c.raddr}
        except psutil.NoSuchProcess:
            return f"PostgreSQL's backend pid {backend} is no process here (a container?)"
        except psutil.AccessDenied:
            return "not allowed to read PostgreSQL's processes (run the suite as root)"
        if isinstance(our_end, tuple) and not any(tuple(peer)[:2] == our_end[:2] for peer in peers):
            return f"process {backend} is not the backend of the suite's connection"
        parent = process.parent()
    if parent is None:
        return f"PostgreSQL's backend {backend} has no parent"
    return parent.pid


def _listener(port: int) -> int | None:
    with contextlib.suppress(psutil.AccessDenied):
        for connection in psutil.net_connections(kind="inet"):
            if (
                connection.status == psutil.CONN_LISTEN
                and connection.laddr
                and connection.laddr.port == port
            ):
                return connection.pid
    return None


def beam(amqp_url: str) -> int | str:
    """RabbitMQ's ``beam.smp`` pid, or why it cannot be measured."""
    parts = urlsplit(amqp_url)
    if not _is_local(parts.hostname):
        return f"RabbitMQ at {parts.hostname} is not on this machine"
    port = parts.port or 5672
    candidates: list[int] = []
    if shutil.which("rabbitmqctl"):
        with contextlib.suppress(OSError, subprocess.SubprocessError, ValueError):
            answer = subprocess.run(
                ["rabbitmqctl", "eval", "os:getpid()."],
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            candidates.append(int(answer.stdout.strip().strip('"')))
    listener = _listener(port)
    if listener is not None:
        candidates.append(listener)
    for pid in candidates:
        with contextlib.suppress(psutil.Error):
            process = psutil.Process(pid)
            listening = any(
                c.status == psutil.CONN_LISTEN and c.laddr.port == port
                for c in process.net_connections(kind="inet")
            )
            if process.name() == "beam.smp" and listening:
                return pid
    return f"no beam.smp on this machine listens on port {port}"


def locate(amqp_url: str, database_url: str) -> Servers:
    """Both servers, each a pid or a reason it is missing."""
    servers = Servers()
    for name, found in (("postgres", postmaster(database_url)), ("rabbitmq", beam(amqp_url))):
        if isinstance(found, int):
            servers.pids[name] = found
        else:
            servers.missing[name] = found
    return servers
