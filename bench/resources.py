"""What a service uses: resident memory and CPU time of its process and every child (a
prefork pool's too). CPU time per unit of work is the figure the machine's noise
hurts least: other people's processes slow ours down, but do not make them work more."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping
from types import TracebackType

import psutil

MB = 1024 * 1024


def tree(pid: int) -> list[psutil.Process]:
    """The process and its descendants that are alive right now."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def tree_rss(pid: int) -> int:
    """Summed RSS of the tree, in bytes. Pages a fork shares are counted once per process,
    as RSS does; :func:`tree_pss` counts them once in all."""
    total = 0
    for process in tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += process.memory_info().rss
    return total


def tree_pss(pid: int) -> int:
    """Summed proportional set size of the tree (shared pages split between sharers)."""
    total = 0
    for process in tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied, AttributeError):
            total += process.memory_full_info().pss
    return total


def tree_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of the tree: every process alive now, and the children
    each has reaped (exited pool children, PostgreSQL's short-lived backends), which the
    kernel adds to their parent's ``children_*`` times when it collects them. A child
    that exits between two readings thus moves from one term to the other, not away."""
    total = 0.0
    for process in tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


class CpuMeter:
    """The CPU seconds several process trees spend while the ``with`` block runs, and the
    block's wall seconds."""

    def __init__(self, pids: Mapping[str, int]) -> None:
        self._pids = dict(pids)
        self._before: dict[str, float] = {}
        self._began = 0.0
        self.seconds: dict[str, float] = dict.fromkeys(self._pids, 0.0)
        self.wall = 0.0

    def __enter__(self) -> CpuMeter:
        self._before = {name: tree_cpu_seconds(pid) for name, pid in self._pids.items()}
        self._began = time.monotonic()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.wall = time.monotonic() - self._began
        for name, pid in self._pids.items():
            self.seconds[name] = max(0.0, tree_cpu_seconds(pid) - self._before[name])

    def ms_per(self, items: int) -> dict[str, float]:
        """CPU milliseconds each tree spent per item of work done meanwhile."""
        return {name: round(1000 * s / max(items, 1), 3) for name, s in self.seconds.items()}

    def percent_of_a_core(self) -> dict[str, float]:
        """CPU seconds over wall seconds, as a percentage of one core."""
        return {name: round(100 * s / self.wall, 2) for name, s in self.seconds.items()}


class PeakRss:
    """Samples the RSS of several process trees in a thread; ``peaks`` holds the highest.

    Use as a context manager around the load whose peak is wanted.
    """

    def __init__(self, pids: Mapping[str, int], interval: float = 0.1) -> None:
        self._pids = dict(pids)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-rss", daemon=True)
        self.peaks: dict[str, int] = dict.fromkeys(self._pids, 0)

    def sample(self) -> None:
        for name, pid in self._pids.items():
            self.peaks[name] = max(self.peaks[name], tree_rss(pid))

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self._interval)

    def __enter__(self) -> PeakRss:
        self.sample()
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def peaks_mb(self) -> dict[str, float]:
        return {name: round(value / MB, 1) for name, value in self.peaks.items()}
