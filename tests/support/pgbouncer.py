"""A private PgBouncer in transaction mode, from this machine's ``pgbouncer`` binary.

It listens on a free port of 127.0.0.1 and forwards every database name to the server of
the URL it is put in front of (a ``*`` entry), so the URL of a fresh test database only
changes its port. Authentication is ``trust`` with an ``auth_file`` listing the users
that may connect (PgBouncer checks the name is there even under trust): the services'
roles are a parameter. Like the private servers of :mod:`tests.support.private_instances`
it runs as a child in its own process group, stopped through that group's id, its log
in ``<log_dir>/pgbouncer.log``; as root it runs as ``postgres`` (it refuses root).

Debian's package is PgBouncer 1.18: no prepared statements in transaction mode, and
only the startup parameters it tracks (``application_name``, ``timezone``,
``client_encoding``, ``datestyle``, ``standard_conforming_strings``), which is what
``DATABASE_POOLER=transaction`` makes the services keep to.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import psycopg.rows

from switchyard_runtime.settings import PlatformSettings
from tests.support.private_instances import ServerUnavailable, _stop_group, wait_for_queries
from tests.support.smtp_sink import free_port

HOW_TO_INSTALL = (
    "the pooled tests run a PgBouncer of their own from this machine's binary: "
    "install Debian's pgbouncer package (apt-get install pgbouncer; .ci/run does), "
    "or set PGBOUNCER_BIN to it"
)

#: The users a test PgBouncer lets in by default: the one the test database is reached as.
DEFAULT_USERS = ("postgres",)


def pgbouncer_bin() -> Path:
    """The ``pgbouncer`` binary (``PGBOUNCER_BIN``, PATH, or Debian's ``/usr/sbin``)."""
    configured = os.environ.get("PGBOUNCER_BIN")
    found = configured or shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(found).is_file():
        raise ServerUnavailable(f"no pgbouncer binary at {found}: {HOW_TO_INSTALL}")
    return Path(found)


def _run_as() -> str | None:
    """``postgres`` when we are root (PgBouncer will not run as root), else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise ServerUnavailable("pgbouncer refuses root and there is no 'postgres' user") from None
    return "postgres"


def pooled_url(database_url: str, port: int) -> str:
    """``database_url`` with its host and port replaced by the pooler's."""
    parts = urllib.parse.urlsplit(database_url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@127.0.0.1:{port}" if userinfo else f"127.0.0.1:{port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


@dataclass
class PrivatePgBouncer:
    """PgBouncer in transaction mode in front of the server of ``upstream``."""

    upstream: str
    base: Path
    log_path: Path
    users: Sequence[str] = DEFAULT_USERS
    #: Server connections per database and user: transaction mode shares them out.
    pool_size: int = 20
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def url(self, database_url: str | None = None) -> str:
        """``database_url`` (default: the upstream's) reached through this pooler."""
        return pooled_url(database_url or self.upstream, self.port)

    def _write_config(self) -> Path:
        server = urllib.parse.urlsplit(self.upstream)
        auth_file = self.base / "userlist.txt"
        auth_file.write_text("".join(f'"{user}" ""\n' for user in self.users))
        config = self.base / "pgbouncer.ini"
        config.write_text(
            "[databases]\n"
            f"* = host={server.hostname or '127.0.0.1'} port={server.port or 5432}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {auth_file}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {self.pool_size}\n"
            "max_client_conn = 1000\n"
            # A client waiting for a server connection longer than this is refused.
            "query_wait_timeout = 30\n"
            "server_login_retry = 1\n"
            # Its admin console (database ``pgbouncer``): SHOW CLIENTS, :func:`clients`.
            f"admin_users = {self.users[0]}\n"
            "log_connections = 0\n"
            "log_disconnections = 0\n"
        )
        user = _run_as()
        if user is not None:
            owner = pwd.getpwnam(user)
            for path in (self.base, auth_file, config):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        return config

    def start(self, timeout: float = 30.0) -> None:
        """Start PgBouncer and wait until a query passes through it."""
        config = self._write_config()
        user = _run_as()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(pgbouncer_bin()), str(config)],
                user=user,
                group=user,
                extra_groups=[] if user else None,
                cwd=self.base,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for_queries(
            self.url(),
            self.process,
            "pgbouncer",
            self.log_path,
            timeout,
            self.stop,
            prepare_threshold=None,
        )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGINT: PgBouncer's fast shutdown, which closes every connection."""
        if self.process is not None:
            _stop_group(self.process, signal.SIGINT, timeout)


def behind(pooler: PrivatePgBouncer, direct_url: str) -> dict[str, str]:
    """The variables of a service behind ``pooler``: ``DATABASE_URL`` through it, its
    sessions (LISTEN, session locks, migrations) direct on ``direct_url``."""
    return {
        "DATABASE_URL": pooler.url(direct_url),
        "DATABASE_SESSION_URL": direct_url,
        "DATABASE_POOLER": "transaction",
    }


def pooled_settings(pooled: dict[str, str]) -> PlatformSettings:
    """The settings a service given ``pooled`` (``conftest.pooled``) reads."""
    return PlatformSettings(
        database_url=pooled["DATABASE_URL"],
        database_session_url=pooled["DATABASE_SESSION_URL"],
        database_pooler="transaction" if pooled["DATABASE_POOLER"] == "transaction" else "none",
    )


def _show(pooled: str, what: str) -> list[dict[str, object]]:
    # The admin console speaks only the simple query protocol: a client-side cursor.
    admin = urllib.parse.urlsplit(pooled)._replace(path="/pgbouncer").geturl()
    with (
        psycopg.connect(admin, autocommit=True, cursor_factory=psycopg.ClientCursor) as conn,
        conn.cursor(row_factory=psycopg.rows.dict_row) as cursor,
    ):
        cursor.execute(f"SHOW {what}")
        return list(cursor.fetchall())


def clients(pooled: str) -> list[dict[str, object]]:
    """``SHOW CLIENTS`` of the PgBouncer that ``pooled`` (a URL through it) reaches: each
    client connection, with its ``application_name``."""
    return _show(pooled, "CLIENTS")


def servers(pooled: str) -> list[int]:
    """The backend pids of that PgBouncer's server connections (``SHOW SERVERS``)."""
    return [int(str(row["remote_pid"])) for row in _show(pooled, "SERVERS")]


@contextmanager
def private_pgbouncer(
    upstream: str, log_dir: Path, *, users: Sequence[str] = DEFAULT_USERS, pool_size: int = 20
) -> Iterator[PrivatePgBouncer]:
    """A running PgBouncer in front of ``upstream``'s server; stopped afterwards."""
    base = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    pooler = PrivatePgBouncer(upstream, base, log_dir / "pgbouncer.log", users, pool_size)
    try:
        pooler.start()
        yield pooler
    finally:
        pooler.stop()
        shutil.rmtree(base, ignore_errors=True)
