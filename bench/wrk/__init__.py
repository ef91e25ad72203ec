"""HTTP load with wrk: the Python driver was the bottleneck, wrk is not.

Two closed loops, each a Lua script beside this module: ``post.lua`` sends a JSON body
exactly N times in all and stops, ``get.lua`` reads random paths from a file for a
number of seconds. Both end with one JSON line of status counts, socket errors and
latency percentiles, parsed into :class:`WrkRun`.

wrk corrects its latencies for coordinated omission: after the run it adds, for every
response slower than twice the mean time between a connection's requests, the samples
a steady sender would have seen meanwhile. Its percentiles are therefore at least the
raw ones, and the tail of a loop with slow outliers reads higher than the raw answers.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUMMARY = "bench-wrk-summary "
THREAD_DONE = "bench-wrk-thread-done"
ANSWERED = "bench-wrk-answered"

#: wrk's threads: one per core of the machine the suite is sized for.
THREADS = 2
#: Seconds one request may take before wrk counts it as a timeout.
REQUEST_TIMEOUT = 60
#: Seconds without an answer after which a POST run is given up as stalled: a request
#: lost with its connection is never answered, so its thread would wait forever.
STALL = 2 * REQUEST_TIMEOUT


class WrkMissing(RuntimeError):
    """wrk is not on PATH."""


def require() -> str:
    """The path of wrk, or a failure that says how to install it."""
    found = shutil.which("wrk")
    if found is None:
        raise WrkMissing(
            "wrk is not installed: apt-get install wrk (the suite drives HTTP with it)"
        )
    return found


@dataclass(frozen=True)
class WrkRun:
    """What one wrk run saw: answers by status, socket errors, latencies in ms."""

    requests: int
    seconds: float
    statuses: dict[int, int]
    errors: dict[str, int]
    latency_ms: dict[str, float]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def answered_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    def summary(self) -> dict[str, object]:
        """The run as JSON-ready details."""
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "per_s": round(self.per_second, 1),
            "answers": {str(status): n for status, n in sorted(self.statuses.items())},
            "socket_errors": self.errors,
            "latency_ms": self.latency_ms,
        }


def _parse(stdout: str) -> WrkRun:
    for line in stdout.splitlines():
        if line.startswith(SUMMARY):
            data = json.loads(line.removeprefix(SUMMARY))
            break
    else:
        raise RuntimeError(f"wrk printed no summary:\n{stdout[-2000:]}")
    return WrkRun(
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        statuses={int(status): int(n) for status, n in data["statuses"].items()},
        errors={name: int(n) for name, n in data["errors"].items()},
        latency_ms={name: round(us / 1000, 2) for name, us in data["latency_us"].items()},
    )


def _command(
    script: str, url: str, connections: int, seconds: float, headers: Mapping[str, str]
) -> list[str]:
    command = [
        require(),
        "--threads",
        str(THREADS),
        "--connections",
        str(connections),
        "--duration",
        f"{max(1, round(seconds))}s",
        "--timeout",
        f"{REQUEST_TIMEOUT}s",
        "--script",
        str(HERE / script),
    ]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    return [*command, url]


def post(
    url: str,
    body: str,
    total: int,
    *,
    connections: int = 64,
    headers: Mapping[str, str] | None = None,
    timeout: float = 1800.0,
) -> WrkRun:
    """POST ``body`` (JSON, ``{n}`` replaced by each request's number) ``total`` times to
    ``url`` from ``connections`` connections in a closed loop."""
    if total < THREADS:
        raise ValueError(f"at least {THREADS} requests (one per wrk thread)")
    command = [
        *_command("post.lua", url, connections, timeout, headers or {}),
        "--",
        str(total),
        str(THREADS),
        body,
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    finished = threading.Event()
    done_threads = 0
    last_answer = time.monotonic()
    errors: list[str] = []

    def watch_stderr() -> None:
        nonlocal done_threads, last_answer
        assert process.stderr is not None
        for line in process.stderr:
            last_answer = time.monotonic()
            if line.strip() == THREAD_DONE:
                done_threads += 1
                if done_threads == THREADS:
                    finished.set()
            elif line.strip() != ANSWERED:
                errors.append(line)
        finished.set()

    watcher = threading.Thread(target=watch_stderr, name="wrk-stderr", daemon=True)
    watcher.start()
    deadline = time.monotonic() + timeout
    while not finished.wait(1.0):
        if time.monotonic() > deadline or time.monotonic() - last_answer > STALL:
            break
    # wrk's main thread sleeps out --duration whatever its threads do; SIGINT ends the
    # sleep and it prints its summary (of what was answered, if the run stalled). It may
    # still be installing its handler at first, hence the repeats.
    while process.poll() is None:
        os.kill(process.pid, signal.SIGINT)
        try:
            process.wait(0.5)
        except subprocess.TimeoutExpired:
            if time.monotonic() > deadline + 30:
                process.kill()
    assert process.stdout is not None
    stdout = process.stdout.read()
    watcher.join(5)
    if process.returncode != 0:
        raise RuntimeError(f"wrk exited {process.returncode}: {''.join(errors)[-2000:]}")
    return _parse(stdout)


def get(
    base_url: str,
    paths_file: Path,
    seconds: float,
    *,
    connections: int = 64,
    headers: Mapping[str, str] | None = None,
) -> WrkRun:
    """GET random paths of ``paths_file`` on ``base_url`` for ``seconds``."""
    command = [
        *_command("get.lua", base_url, connections, seconds, headers or {}),
        "--",
        str(paths_file),
    ]
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 120, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"wrk exited {completed.returncode}: {completed.stderr[-2000:]}")
    return _parse(completed.stdout)
