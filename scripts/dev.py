"""``just dev``: the whole system as local processes, with a demo email.

Checks that the broker and the database answer (and says how to provide them when they
do not), makes the services' database roles (``api db-roles``, as ``DATABASE_URL``'s
user: the admin), applies every service's migrations as the migration role and declares
the broker topology, starts an SMTP sink and every service on its own database role,
submits a demo email and prints its workflow's status as it changes. Ctrl-C stops
everything it started.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from switchyard_runtime.database_roles import MIGRATOR, role_url

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
DEFAULTS = {
    "AMQP_URL": "amqp://guest:guest@localhost:5672//",
    "DATABASE_URL": "postgresql://postgres@localhost:5432/postgres",
    "SMTP_HOST": "127.0.0.1",
    "SMTP_PORT": "1025",
    "API_HOST": "127.0.0.1",
    "API_PORT": "8000",
}
HOW_TO_PROVIDE = (
    "start one with `just up` (Docker), or point {variable} at a running server "
    "(e.g. {variable}={example} just dev)"
)


def say(line: str) -> None:
    print(f"[dev] {line}", flush=True)


def reachable(url: str, default_port: int) -> bool:
    parts = urllib.parse.urlsplit(url)
    try:
        address = (parts.hostname or "localhost", parts.port or default_port)
        with socket.create_connection(address, 3):
            return True
    except OSError:
        return False


def check_backing_services(env: dict[str, str]) -> None:
    missing = []
    for variable, port, example in (
        ("AMQP_URL", 5672, DEFAULTS["AMQP_URL"]),
        ("DATABASE_URL", 5432, DEFAULTS["DATABASE_URL"]),
    ):
        if not reachable(env[variable], port):
            what = "RabbitMQ" if variable == "AMQP_URL" else "PostgreSQL"
            missing.append(
                f"{what} is not reachable at {env[variable]}: "
                + HOW_TO_PROVIDE.format(variable=variable, example=example)
            )
    if missing:
        for line in missing:
            say(line)
        raise SystemExit(1)


class Processes:
    """The processes ``just dev`` started, each in its own process group."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: list[str], role: str | None = None) -> None:
        """Start ``argv``; with ``role``, connected to the database as that role."""
        process = subprocess.Popen(
            argv,
            env=as_role(self.env, role) if role else self.env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started.append((name, process))
        threading.Thread(target=self._echo, args=(name, process), daemon=True).start()

    @staticmethod
    def _echo(name: str, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            sys.stdout.write(f"[{name}] {raw.decode(errors='replace')}")
            sys.stdout.flush()

    def exited(self) -> list[str]:
        return [name for name, process in self.started if process.poll() is not None]

    def stop_all(self) -> None:
        # A second Ctrl-C (or one forwarded again by `uv run`) must not orphan the services.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for _, process in reversed(self.started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for _, process in reversed(self.started):
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)


@contextmanager
def running(env: dict[str, str]) -> Iterator[Processes]:
    processes = Processes(env)
    try:
        yield processes
    finally:
        say("stopping")
        processes.stop_all()


def as_role(env: dict[str, str], role: str) -> dict[str, str]:
    """``env`` with ``DATABASE_URL`` (the admin's) turned into ``role``'s, with its
    ``DATABASE_PASSWORD_<ROLE>`` if one is set (none: trust or peer auth)."""
    password = env.get(f"DATABASE_PASSWORD_{role.upper()}")
    return {**env, "DATABASE_URL": role_url(env["DATABASE_URL"], role, password)}


def migrate(env: dict[str, str]) -> None:
    subprocess.run([str(BIN / "api"), "db-roles"], env=env, check=True)
    for service in ("api", "email-worker", "report-worker", "scheduler"):
        subprocess.run([str(BIN / service), "migrate"], env=as_role(env, MIGRATOR), check=True)


def create_dev_key(env: dict[str, str]) -> str:
    """A fresh API key of tenant ``dev``, printed so the developer can use it."""
    made = subprocess.run(
        [str(BIN / "api"), "keys", "create", "--tenant", "dev", "--name", "just dev"],
        env=as_role(env, "api"),
        check=True,
        capture_output=True,
        text=True,
    )
    key = made.stdout.strip().splitlines()[-1]
    say(f"development API key (tenant dev): {key}")
    url = f"http://{env['API_HOST']}:{env['API_PORT']}/v1/workflows"
    say(f"  e.g. curl -H 'Authorization: Bearer {key}' {url}")
    return key


def wait_ready(api_url: str, processes: Processes, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if processes.exited():
            raise SystemExit(f"[dev] exited early: {', '.join(processes.exited())}")
        try:
            if httpx.get(f"{api_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"[dev] the API at {api_url} was not ready after {timeout:.0f}s")


def demo(api_url: str, key: str, timeout: float = 60.0) -> str:
    """Submit a demo email and print its workflow's status each time it changes."""
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=api_url, timeout=40, headers=auth) as client:
        response = client.post(
            "/v1/emails",
            json={
                "to": ["demo@example.com"],
                "subject": "Hello from just dev",
                "text": "The walking skeleton works: API -> RabbitMQ -> email worker -> SMTP.",
            },
        )
        response.raise_for_status()
        status_url = response.json()["status_url"]
        say(f"submitted a demo email: {response.status_code} {status_url}")
        etag, status = None, "queued"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            headers: dict[str, str] = {"If-None-Match": etag} if etag else {}
            poll = client.get(status_url, params={"wait": 10}, headers=headers)
            if poll.status_code == 200:
                etag = poll.headers.get("ETag")
                document = poll.json()
                status = document["status"]
                steps = ", ".join(f"{s['name']}={s['status']}" for s in document["steps"])
                say(f"workflow {document['id']}: {status} ({steps})")
                if document["finished_at"] is not None:
                    return str(status)
        return str(status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--once", action="store_true", help="stop after the demo instead of running on"
    )
    args = parser.parse_args()
    env = {**DEFAULTS, **os.environ, "PYTHONUNBUFFERED": "1"}
    check_backing_services(env)
    migrate(env)
    key = create_dev_key(env)
    api_url = f"http://{env['API_HOST']}:{env['API_PORT']}"
    with running(env) as processes:
        processes.start(
            "smtp-sink",
            [
                sys.executable,
                "-m",
                "tests.support.smtp_sink",
                "--host",
                env["SMTP_HOST"],
                "--port",
                env["SMTP_PORT"],
            ],
        )
        for service in ("email-worker", "report-worker", "scheduler", "api"):
            processes.start(service, [str(BIN / service)], role=service.replace("-", "_"))
        # The API's intake worker: it turns the scheduler's ticks into workflows.
        processes.start("api-intake", [str(BIN / "api"), "intake"], role="api")
        wait_ready(api_url, processes)
        say(f"API ready at {api_url} (docs at {api_url}/docs)")
        outcome = demo(api_url, key)
        say(f"demo workflow finished: {outcome}")
        if args.once:
            if outcome != "succeeded":
                raise SystemExit(1)
            return
        say("running; Ctrl-C stops everything")
        try:
            while not processes.exited():
                time.sleep(1)
            say(f"exited: {', '.join(processes.exited())}")
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
