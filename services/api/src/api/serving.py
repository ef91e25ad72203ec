"""Running ``API_WORKERS`` server processes on one port, at no cost while idle.

uvicorn's own multi-process mode pings every worker twice a second from its supervisor,
and each worker wakes ten times a second to refresh its ``Date`` header: together, 2%
of a core on a 2-core machine serving nothing. Here the supervisor forks the workers
(one listening socket, bound before) and sleeps in ``wait()`` until one exits, which it
starts again; SIGTERM and SIGINT are passed on to every worker, which finish what they
hold and stop. Each worker is a uvicorn server that looks at the clock and for a
shutdown request once a second instead of ten times.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
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


class Supervisor:
    """Forks ``workers`` servers sharing ``sock``; keeps that many running until told to
    stop."""

    def __init__(self, config: uvicorn.Config, sock: socket.socket, workers: int) -> None:
        self.config = config
        self.sock = sock
        self.workers = workers
        #: Each running server's row in the table of held requests, by pid.
        self.children: dict[int, int] = {}
        self.held = held.prepare(workers)
        self.stopping = False

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        for row in range(self.workers):
            self._spawn(row)
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            if pid not in self.children:
                continue
            row = self.children.pop(pid)
            # What it held ended with it.
            self.held.clear_row(row)
            if not self.stopping:
                log.warning("server process exited; starting another", pid=pid, status=status)
                self._spawn(row)

    def _spawn(self, row: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            try:
                self.held.use_row(row)
                Server(self.config).run(sockets=[self.sock])
            finally:
                os._exit(0)
        self.children[pid] = row

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):  # ``run`` reaps it
                os.kill(pid, signal.SIGTERM)


def run(config: uvicorn.Config, workers: int) -> None:
    """Serve ``config`` in this process, or in ``workers`` forked ones."""
    if workers <= 1:
        Server(config).run()
        return
    sock = config.bind_socket()
    try:
        Supervisor(config, sock, workers).run()
    finally:
        sock.close()
