"""Running the services as real processes, the way an operator starts them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

#: The console scripts live next to the interpreter running the tests.
BIN = Path(sys.executable).parent


@dataclass
class ServiceProcess:
    """One service started by its console script, its output in ``log_path``."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.logs().splitlines()[-lines:])

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the process group (a worker's pool children too), then SIGKILL."""
        if not self.alive():
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def kill(self) -> None:
        """SIGKILL the whole process group at once."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """SIGSTOP the process group for the block, SIGCONT after it: a service too busy
        (or too slow) to take anything meanwhile, its connections kept."""
        os.killpg(self.process.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.killpg(self.process.pid, signal.SIGCONT)


def start(name: str, argv: list[str], env: Mapping[str, str], log_dir: Path) -> ServiceProcess:
    """Start a service; it serves no metrics unless ``env`` gives it ``METRICS_PORT``: the
    API's default port (9809) would be shared by every API a session, or a session beside
    it, starts."""
    log_path = log_dir / f"{name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [str(BIN / argv[0]), *argv[1:]],
            env={**os.environ, "METRICS_PORT": "0", **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return ServiceProcess(name, process, log_path)


def run(argv: list[str], env: Mapping[str, str], timeout: float = 180.0) -> str:
    """Run a one-shot command (e.g. ``api migrate``); raise with its output if it fails."""
    result = subprocess.run(
        [str(BIN / argv[0]), *argv[1:]],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result.stdout


def wait_until_ready(service: ServiceProcess, url: str, timeout: float = 60.0) -> None:
    """Poll ``url`` until it answers 200 (the API's /readyz)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not service.alive():
            raise RuntimeError(f"{service.name} exited early:\n{service.tail()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{service.name} not ready after {timeout}s:\n{service.tail()}")


def wait_for_log(service: ServiceProcess, text: str, timeout: float = 60.0) -> None:
    """Wait until ``text`` appears in the service's output (a worker's "ready.")."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in service.logs():
            return
        if not service.alive():
            raise RuntimeError(f"{service.name} exited early:\n{service.tail()}")
        time.sleep(0.2)
    raise RuntimeError(f"{service.name}: no {text!r} after {timeout}s:\n{service.tail()}")


def create_api_key(env: Mapping[str, str], tenant: str) -> str:
    """A new API key for ``tenant``, made the way an operator makes one."""
    return run(["api", "keys", "create", "--tenant", tenant], env).strip().splitlines()[-1]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
