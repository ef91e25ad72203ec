"""Private RabbitMQ and PostgreSQL servers from this machine's binaries, for tests that break them.

Each instance listens on a free port of 127.0.0.1 and keeps its data in a temporary
directory of its own, so a test may stop, restart or SIGKILL it without touching the
machine's shared servers (5672, 5432) or anybody else's. Every server runs as a child
in its own process group and is stopped through that group's id, never by name; its
output goes to ``<log_dir>/<name>.log``. This is what the fixtures of pytest-rabbitmq and
pytest-postgresql do, with the two servers' own tools and no plugin.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from tests.support.smtp_sink import free_port

#: What to install when the binaries are missing (the suite says so instead of skipping).
HOW_TO_INSTALL = (
    "the fault-injection tests run their own RabbitMQ and PostgreSQL servers from this "
    "machine's binaries: install rabbitmq-server and postgresql (Debian/Ubuntu packages), "
    "or set RABBITMQ_SCRIPTS_DIR / POSTGRES_BIN_DIR to where rabbitmq-server and initdb are"
)


class ServerUnavailable(RuntimeError):
    """The server's binaries are missing, or it did not start."""


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member now runs as another user: still there
        return True
    return True


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def _stop_group(process: subprocess.Popen[bytes], signum: int, timeout: float) -> None:
    """Send ``signum`` to the leader, wait for the whole group; SIGKILL what is left."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.kill(process.pid, signum)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
    _kill_group(process)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    _signal_group(process, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        process.wait(10)
    deadline = time.monotonic() + 10
    while _group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_for_queries(
    url: str,
    process: subprocess.Popen[bytes],
    name: str,
    log_path: Path,
    timeout: float,
    give_up: Callable[[], None],
    **connect: Any,
) -> None:
    """Wait until ``SELECT 1`` passes at ``url``; if ``process`` exits first, or
    ``timeout`` passes (then ``give_up()`` is called), raise :class:`ServerUnavailable`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(url, connect_timeout=2, **connect) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            pass
        if process.poll() is not None:
            raise ServerUnavailable(f"{name} exited with {process.returncode}:\n{_tail(log_path)}")
        if time.monotonic() > deadline:
            give_up()
            raise ServerUnavailable(f"{name} not up after {timeout}s")
        time.sleep(0.1)


# --- RabbitMQ -------------------------------------------------------------------------


def rabbitmq_scripts() -> Path:
    """The directory of RabbitMQ's own ``rabbitmq-server`` and ``rabbitmqctl`` scripts.

    Not ``/usr/sbin``: Debian's wrappers there switch to the ``rabbitmq`` user (another
    home, so another Erlang cookie) and drop the environment that names our node.
    """
    candidates = [os.environ.get("RABBITMQ_SCRIPTS_DIR", ""), "/usr/lib/rabbitmq/bin"]
    candidates += sorted(
        (str(p) for p in Path("/usr/lib/rabbitmq/lib").glob("rabbitmq_server-*/sbin")),
        reverse=True,
    )
    on_path = shutil.which("rabbitmq-server")
    if on_path:
        candidates.append(str(Path(on_path).resolve().parent))
    for candidate in candidates:
        if candidate and (Path(candidate) / "rabbitmq-server").is_file():
            return Path(candidate)
    raise ServerUnavailable("rabbitmq-server not found: " + HOW_TO_INSTALL)


@dataclass
class PrivateRabbitMQ:
    """A single RabbitMQ node of our own: ``faults-<port>@localhost``, no plugins.

    ``cookie`` is the Erlang cookie, written to the node's own ``$HOME`` (where the node
    and its CLI read it): nodes given the same one can form a cluster. Unset, the node
    makes one of its own.
    """

    base: Path
    log_path: Path
    port: int = field(default_factory=free_port)
    dist_port: int = field(default_factory=free_port)
    scripts: Path = field(default_factory=rabbitmq_scripts)
    process: subprocess.Popen[bytes] | None = None
    cookie: str | None = None

    @property
    def node(self) -> str:
        return f"faults-{self.port}@localhost"

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def env(self) -> dict[str, str]:
        """The server's and its CLI's environment: nothing read from /etc/rabbitmq."""
        return {
            **os.environ,
            # The Erlang cookie lives in $HOME: the CLI must find the server's.
            "HOME": str(self.base),
            "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.base / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "RABBITMQ_PLUGINS_EXPAND_DIR": str(self.base / "plugins-expand"),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_LOGS": "-",  # to stdout, i.e. to log_path
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
        }

    def _write_config(self) -> None:
        (self.base / "rabbitmq-env.conf").write_text("")
        (self.base / "rabbitmq.conf").write_text(f"listeners.tcp.1 = 127.0.0.1:{self.port}\n")
        (self.base / "enabled_plugins").write_text("[].\n")
        if self.cookie is not None:
            cookie = self.base / ".erlang.cookie"
            cookie.write_text(self.cookie)
            cookie.chmod(0o400)  # Erlang refuses a cookie file others may read

    def start(self, timeout: float = 120.0) -> None:
        """Start the node (again, on the same data) and wait until it serves AMQP."""
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        """Start the node without waiting: it boots while the caller does other things."""
        if self.running():
            raise RuntimeError(f"{self.node} is already running")
        if not (self.base / "rabbitmq.conf").exists():
            self._write_config()
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(self.scripts / "rabbitmq-server")],
                env=self.env(),
                cwd=self.base,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Wait until the launched node has booted and serves AMQP."""
        if self.process is None:
            raise RuntimeError(f"{self.node} was not launched")
        deadline = time.monotonic() + timeout
        # Polling the port is cheap; each rabbitmqctl call boots an Erlang VM.
        while not _port_open(self.port):
            if self.process.poll() is not None:
                raise ServerUnavailable(
                    f"{self.node} exited with {self.process.returncode}:\n{_tail(self.log_path)}"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise ServerUnavailable(f"{self.node} not up after {timeout}s")
            time.sleep(0.1)
        self.ctl("await_startup", "--timeout", str(int(max(1, deadline - time.monotonic()))))

    def ctl(self, *args: str, timeout: float = 120.0, tool: str = "rabbitmqctl") -> str:
        """Run ``rabbitmqctl -n <node> <args>`` (or another CLI ``tool``) against this node."""
        result = subprocess.run(
            [str(self.scripts / tool), "-n", self.node, *args],
            env=self.env(),
            cwd=self.base,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{tool} {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result.stdout

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 60.0) -> None:
        """A clean shutdown (SIGTERM: the node closes its connections and stops)."""
        if self.process is not None:
            _stop_group(self.process, signal.SIGTERM, timeout)

    def kill(self) -> None:
        """SIGKILL the node at once, as a crash would."""
        if self.process is not None:
            _kill_group(self.process)

    def rss_bytes(self) -> int:
        """Resident memory of the node's processes (the Erlang VM and its helpers)."""
        if not self.running() or self.process is None:
            return 0
        return _group_rss(self.process.pid)


def _group_rss(pgid: int) -> int:
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # Field 5, after the parenthesised command (which may hold spaces).
            if int(stat.read_text().rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            status = (stat.parent / "status").read_text()
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


@contextmanager
def private_rabbitmq(log_dir: Path, *, wait: bool = True) -> Iterator[PrivateRabbitMQ]:
    """A running node of our own; killed and its data removed afterwards.

    With ``wait=False`` the node is still booting: call ``wait_ready()`` before using it.
    """
    base = Path(tempfile.mkdtemp(prefix="faults-rabbitmq-"))
    broker = PrivateRabbitMQ(base, log_dir / "rabbitmq.log")
    try:
        broker.launch()
        if wait:
            broker.wait_ready()
        yield broker
    finally:
        broker.kill()
        shutil.rmtree(base, ignore_errors=True)


@dataclass
class PrivateRabbitMQCluster:
    """Nodes of our own joined into one cluster (``rabbitmqctl join_cluster``).

    Every node runs from this machine's binaries with its own name, ports and data
    directory, and all share one Erlang cookie. :attr:`url` names every node, separated
    by ``;``, as a service's ``AMQP_URL`` does to fail over.
    """

    nodes: list[PrivateRabbitMQ]
    #: Seconds from launching the nodes to a cluster of all of them.
    formed_in: float = 0.0

    @property
    def url(self) -> str:
        return ";".join(node.url for node in self.nodes)

    def url_for(self, vhost: str) -> str:
        return ";".join(node.url.removesuffix("/") + vhost for node in self.nodes)

    def running(self) -> list[PrivateRabbitMQ]:
        return [node for node in self.nodes if node.running()]

    def ctl(self, *args: str, tool: str = "rabbitmqctl", timeout: float = 120.0) -> str:
        """Run a CLI command against the first running node."""
        return self.running()[0].ctl(*args, tool=tool, timeout=timeout)

    def form(self, timeout: float = 180.0) -> None:
        """Wait for the launched nodes, then join each to the first one."""
        started = time.monotonic()
        for node in self.nodes:
            node.wait_ready(timeout)
        first = self.nodes[0]
        for node in self.nodes[1:]:
            node.ctl("stop_app")
            node.ctl("join_cluster", first.node)
            node.ctl("start_app")
        members = self.cluster_members()
        if sorted(members) != sorted(node.node for node in self.nodes):
            raise ServerUnavailable(f"the cluster has {members}, not every node")
        self.formed_in = time.monotonic() - started

    def cluster_members(self) -> list[str]:
        """The running nodes of the cluster, as its first running node sees them."""
        status = json.loads(self.ctl("cluster_status", "--formatter", "json"))
        return list(status["running_nodes"])

    def node_named(self, name: str) -> PrivateRabbitMQ:
        return next(node for node in self.nodes if node.node == name)

    def add_vhost(self, vhost: str) -> None:
        self.ctl("add_vhost", vhost)
        self.ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")

    def quorum_status(self, queue: str, vhost: str = "/") -> list[dict[str, Any]]:
        """``rabbitmq-queues quorum_status``: one row per member of the queue's group."""
        out = self.ctl(
            "quorum_status",
            queue,
            "--vhost",
            vhost,
            "--formatter",
            "json",
            tool="rabbitmq-queues",
            timeout=60,
        )
        rows: list[dict[str, Any]] = json.loads(out)
        return rows

    def leader_of(self, queue: str, vhost: str = "/") -> PrivateRabbitMQ:
        """The node whose member of ``queue``'s group leads it."""
        for row in self.quorum_status(queue, vhost):
            if str(row.get("Raft State")) == "leader":
                return self.node_named(str(row["Node Name"]))
        raise RuntimeError(f"{queue} has no leader now")

    def replicated(self, queue: str, vhost: str = "/") -> bool:
        """Every node holds a member of ``queue``'s group, one leads, the others follow,
        and all have committed the same log (the restarted one caught up)."""
        try:
            rows = self.quorum_status(queue, vhost)
        except RuntimeError:  # no leader yet to answer
            return False
        states = sorted(str(row.get("Raft State")) for row in rows)
        commits = {row.get("Commit Index") for row in rows}
        return (
            sorted(str(row["Node Name"]) for row in rows) == sorted(n.node for n in self.nodes)
            and states == ["follower"] * (len(self.nodes) - 1) + ["leader"]
            and len(commits) == 1
        )

    def rss_bytes(self) -> int:
        return sum(node.rss_bytes() for node in self.nodes)


@contextmanager
def private_rabbitmq_cluster(log_dir: Path, n: int = 3) -> Iterator[PrivateRabbitMQCluster]:
    """``n`` running nodes of our own, clustered; killed and their data removed afterwards."""
    cookie = secrets.token_hex(16)
    bases = [Path(tempfile.mkdtemp(prefix=f"faults-rabbitmq-{i}-")) for i in range(n)]
    cluster = PrivateRabbitMQCluster(
        [
            PrivateRabbitMQ(base, log_dir / f"rabbitmq-{i}.log", cookie=cookie)
            for i, base in enumerate(bases)
        ]
    )
    try:
        for node in cluster.nodes:
            node.launch()
        cluster.form()
        yield cluster
    finally:
        for node in cluster.nodes:
            node.kill()
        for base in bases:
            shutil.rmtree(base, ignore_errors=True)


# --- PostgreSQL -----------------------------------------------------------------------


def postgres_bin() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` (or ``POSTGRES_BIN_DIR``)."""
    given = os.environ.get("POSTGRES_BIN_DIR", "")
    if given and (Path(given) / "initdb").is_file():
        return Path(given)
    versions = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if (p / "initdb").is_file()]
    if versions:
        return max(versions, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    raise ServerUnavailable("initdb not found: " + HOW_TO_INSTALL)


def _server_user() -> str | None:
    """``postgres`` when we are root (initdb refuses to run as root), else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise ServerUnavailable(
            "initdb refuses to run as root and there is no 'postgres' user to run it as"
        ) from None
    return "postgres"


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of our own (trust auth, user ``postgres``, no fsync)."""

    base: Path
    log_path: Path
    port: int = field(default_factory=free_port)
    bin_dir: Path = field(default_factory=postgres_bin)
    user: str | None = field(default_factory=_server_user)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def data(self) -> Path:
        return self.base / "data"

    def _run_as_owner(self, argv: list[str]) -> None:
        with self.log_path.open("ab") as log:
            subprocess.run(
                argv,
                user=self.user,
                group=self.user,
                extra_groups=[] if self.user else None,
                env={**os.environ, "HOME": str(self.base)},
                cwd=self.base,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=120,
                check=True,
            )

    def init(self) -> None:
        if self.user is not None:
            owner = pwd.getpwnam(self.user)
            os.chown(self.base, owner.pw_uid, owner.pw_gid)
        self._run_as_owner(
            [
                str(self.bin_dir / "initdb"),
                "--pgdata",
                str(self.data),
                "--username",
                "postgres",
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--no-sync",
            ]
        )

    def start(self, timeout: float = 60.0) -> None:
        """Start the server (again, on the same data) and wait until it takes connections."""
        if self.running():
            raise RuntimeError(f"postgres on {self.port} is already running")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(self.bin_dir / "postgres"),
                    "-D",
                    str(self.data),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.base),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    "fsync=off",
                    "-c",
                    "max_connections=200",
                ],
                user=self.user,
                group=self.user,
                extra_groups=[] if self.user else None,
                env={**os.environ, "HOME": str(self.base)},
                cwd=self.base,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for_queries(self.url, self.process, "postgres", self.log_path, timeout, self.kill)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 60.0) -> None:
        """A fast shutdown (SIGINT to the postmaster): sessions are cut, data is kept."""
        if self.process is not None:
            _stop_group(self.process, signal.SIGINT, timeout)

    def kill(self) -> None:
        """SIGKILL the postmaster and its backends at once; the next start recovers.

        The cluster must be started and stopped again afterwards, or its shared memory
        segment stays behind (``ipcs -m``).
        """
        if self.process is not None:
            _kill_group(self.process)

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def private_postgres(log_dir: Path) -> Iterator[PrivatePostgres]:
    """A running cluster of our own; stopped and its data removed afterwards.

    Stopped, not killed: a killed postmaster leaves its System V shared memory segment.
    """
    base = Path(tempfile.mkdtemp(prefix="faults-postgres-"))
    server = PrivatePostgres(base, log_dir / "postgres.log")
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
