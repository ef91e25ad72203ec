"""Running ``API_WORKERS`` server processes on one port, at no cost while idle.

uvicorn's own multi-process mode pings every worker twice a second from its supervisor,
and each worker wakes ten times a second to refresh its ``Date`` header: together, 2%
of a core on a 2-core machine serving nothing. Here the supervisor forks the workers
(one listening socket, bound before) and sleeps in ``wait()`` until one exits, which it
starts again; SIGTERM and SIGINT are passed on to every worker, which finish what they
hold and stop. Each worker is a uvicorn server that looks at the clock and for a
shutdown request once a second instead of ten times.

Metrics are served the same way, by one more forked process on a socket of its own
(``METRICS_PORT``), which adds up every server's counters: the supervisor itself runs no
thread and no server, so what it forks is never a copy of a process mid-request.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

import structlog
import uvicorn

from api.access import held

log = structlog.get_logger(__name__)


class Server(uvicorn.Server):
    """uvicorn's server, ticking once a second (Date header, shutdown request)."""

    async def main_loop(self) -> None:
        # ``on_tick(0)`` refreshes the Date header each time it is called.
        while not await self.on_tick(0):
            await asyncio.sleep(1.0)


@dataclass(frozen=True)
class Served:
    """``processes`` uvicorn servers of ``config`` sharing ``sock`` (bound before)."""

    config: uvicorn.Config
    sock: socket.socket
    processes: int


class Supervisor:
    """Forks the servers of each :class:`Served`; keeps that many running until told to
    stop, calling ``on_exit`` with the pid of each that exits.

    The servers of the first :class:`Served` (the API's) each count their held requests
    in a row of their own of :mod:`api.access.held`'s table, made here before forking; a
    server's row is cleared when it exits, and its replacement takes it over.
    """

    def __init__(
        self, served: list[Served], on_exit: Callable[[int], None] = lambda pid: None
    ) -> None:
        self.served = served
        self.on_exit = on_exit
        #: pid: the :class:`Served` it runs, and its row of held requests.
        self.children: dict[int, tuple[Served, int]] = {}
        self.held = held.prepare(served[0].processes)
        self.stopping = False

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        for number, served in enumerate(self.served):
            for row in range(served.processes):
                self._spawn(served, row if number == 0 else -1)
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            if pid not in self.children:
                continue
            served, row = self.children.pop(pid)
            if row >= 0:
                self.held.clear_row(row)  # what it held ended with it
            self.on_exit(pid)
            if not self.stopping:
                log.warning("server process exited; starting another", pid=pid, status=status)
                self._spawn(served, row)

    def _spawn(self, served: Served, row: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            for other in self.served:
                if other is not served:
                    other.sock.close()  # the others' sockets are not this one's to hold
            try:
                if row >= 0:
                    self.held.use_row(row)
                Server(served.config).run(sockets=[served.sock])
            finally:
                os._exit(0)
        self.children[pid] = (served, row)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):  # ``run`` reaps it
                os.kill(pid, signal.SIGTERM)


def run(
    config: uvicorn.Config,
    workers: int,
    metrics: tuple[uvicorn.Config, socket.socket] | None = None,
    on_exit: Callable[[int], None] = lambda pid: None,
) -> None:
    """Serve ``config`` in ``workers`` forked processes (in this one when that is one and
    there are no ``metrics``), and ``metrics`` (its config and bound socket) in one more."""
    if workers <= 1 and metrics is None:
        Server(config).run()
        return
    sock = config.bind_socket()
    served = [Served(config, sock, workers)]
    if metrics is not None:
        served.append(Served(*metrics, processes=1))
    try:
        Supervisor(served, on_exit).run()
    finally:
        for each in served:
            each.sock.close()
