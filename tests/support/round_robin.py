"""A round-robin TCP proxy in front of several servers, as a load balancer would stand in
front of API replicas: each new connection goes to the next server in turn.

A server that refuses the connection (it died) is passed over for the next one, so the
clients of a dead replica's successors see no error; connections already open to it
break, as they would behind a real balancer. It runs an asyncio loop in a thread of the
test process; :attr:`RoundRobin.connections` counts the connections each server took.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter
from collections.abc import Sequence
from types import TracebackType

from tests.support.smtp_sink import free_port

Address = tuple[str, int]


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()


class RoundRobin:
    """Listens on ``host:port`` (0: a free port) and spreads connections over ``servers``."""

    def __init__(self, servers: Sequence[Address], host: str = "127.0.0.1", port: int = 0) -> None:
        self.servers = list(servers)
        self.host = host
        self.port = port or free_port(host)
        self.connections: Counter[Address] = Counter()
        #: Connections a server refused (it was down) and the next one took.
        self.passed_over: Counter[Address] = Counter()
        self._next = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="round-robin")
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _turn(self) -> list[Address]:
        """The servers in the order this connection tries them."""
        with self._lock:
            first = self._next
            self._next = (self._next + 1) % len(self.servers)
        return self.servers[first:] + self.servers[:first]

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        for server in self._turn():
            try:
                server_r, server_w = await asyncio.open_connection(*server)
            except OSError:
                with self._lock:
                    self.passed_over[server] += 1
                continue
            with self._lock:
                self.connections[server] += 1
            pipes = [
                asyncio.ensure_future(_pipe(client_r, server_w)),
                asyncio.ensure_future(_pipe(server_r, client_w)),
            ]
            try:
                # HTTP needs no half-closed connection: when either side ends, both do.
                await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pipe in pipes:
                    pipe.cancel()
                server_w.close()
                client_w.close()
            return
        client_w.close()  # no server is up: the client sees the connection closed

    def start(self) -> RoundRobin:
        self._thread.start()
        started = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, self.host, self.port), self._loop
        )
        self._server = started.result(10)
        return self

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            current = asyncio.current_task()
            for task in asyncio.all_tasks():
                if task is not current:
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> RoundRobin:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
