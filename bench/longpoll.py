"""Long polls held: many clients each waiting on a different unfinished workflow
(``?wait=30`` with ``If-None-Match`` naming its current ETag), and what they cost the
rest of the system: the latency of submits made meanwhile, and the API's queries.

The pollers are raw asyncio streams speaking HTTP/1.1, one connection each: a thousand
httpx clients would cost this process more CPU than the server it measures, and a raw
stream knows exactly when its request has left. A poller whose poll ends unanswered
(304 after 30 s) polls again at once, as a consumer would.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench import idle

WAIT = 30
#: Seconds between the last poll sent and the window in which queries are looked for,
#: so that the polls' own first reads are done with.
SETTLE = 2.0
#: Seconds the pollers may take to read their workflows' ETags, then to send the polls.
RAMP = 300.0


@dataclass
class Held:
    """What holding the polls saw."""

    held: int
    submit_seconds: list[float] = field(default_factory=list)
    connections_queried: int = 0
    #: Answers to the long polls before they were let go, by status (304: timed out).
    answers: Counter[int] = field(default_factory=Counter)
    answers_before_window_end: int = 0


def _request(host: str, path: str, key: str, tag: str | None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", f"Authorization: Bearer {key}"]
    if tag is not None:
        lines.append(f"If-None-Match: {tag}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    headers = {}
    for line in head[1:]:
        if line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        return status, headers, await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding") == "chunked":
        body = b""
        while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
            body += await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")
        return status, headers, body
    return status, headers, b""


class _Pollers:
    def __init__(self, api_url: str, key: str, paths: Sequence[str]) -> None:
        parts = urlsplit(api_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.key, self.paths = key, paths
        self.go = asyncio.Event()
        self.ready = 0
        self.sent = 0
        self.answers: Counter[int] = Counter()

    async def poll(self, path: str) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        host = f"{self.host}:{self.port}"
        try:
            writer.write(_request(host, path, self.key, None))
            await writer.drain()
            status, headers, _ = await _response(reader)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}")
            tag = headers["etag"]
            self.ready += 1
            await self.go.wait()
            first = True
            while True:
                writer.write(_request(host, f"{path}?wait={WAIT}", self.key, tag))
                await writer.drain()
                if first:
                    self.sent += 1
                    first = False
                status, headers, _ = await _response(reader)
                self.answers[status] += 1
                if status == 200:
                    tag = headers["etag"]
        finally:
            writer.close()

    async def until(self, tasks: Sequence[asyncio.Task[Any]], count: str, timeout: float) -> None:
        """Wait until ``count`` (an attribute) reaches every poller; a poller's failure
        ends the wait with its exception."""
        deadline = time.monotonic() + timeout
        while getattr(self, count) < len(self.paths):
            for task in tasks:
                if task.done():
                    task.result()
                    raise RuntimeError("a poller ended early")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{getattr(self, count)} of {len(self.paths)} pollers {count}")
            await asyncio.sleep(0.05)


async def _hold(
    api_url: str,
    key: str,
    paths: Sequence[str],
    submits: int,
    window: float,
    admin_url: str,
    database: str,
) -> Held:
    pollers = _Pollers(api_url, key, paths)
    tasks = [asyncio.create_task(pollers.poll(path)) for path in paths]
    held = Held(held=len(paths))
    try:
        await pollers.until(tasks, "ready", RAMP)
        pollers.go.set()
        await pollers.until(tasks, "sent", RAMP)
        await asyncio.sleep(SETTLE)
        held.connections_queried = await asyncio.to_thread(
            idle.connections_queried_over, admin_url, database, window
        )
        held.answers_before_window_end = sum(pollers.answers.values())
        async with httpx.AsyncClient(
            base_url=api_url, headers={"Authorization": f"Bearer {key}"}, timeout=60
        ) as http:
            # The client's own first request (its connection, its lazy set-up) is not
            # the server's latency: one unmeasured request first.
            (await http.get("/healthz")).raise_for_status()
            for number in range(submits):
                began = time.perf_counter()
                answer = await http.post(
                    "/v1/emails",
                    json={
                        "to": ["reader@example.com"],
                        "subject": f"Submitted while polls are held {number}",
                        "text": "Hello from the benchmark.",
                        "lane": "transactional",
                    },
                )
                answer.raise_for_status()
                held.submit_seconds.append(time.perf_counter() - began)
        held.answers = Counter(pollers.answers)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return held


def hold(
    api_url: str,
    key: str,
    paths: Sequence[str],
    *,
    submits: int,
    window: float,
    admin_url: str,
    database: str,
) -> Held:
    """Hold a long poll on each of ``paths``; once all are in flight, count the bench
    API's queries over ``window`` seconds, then time ``submits`` sequential
    ``POST /v1/emails`` from one other client."""
    return asyncio.run(_hold(api_url, key, paths, submits, window, admin_url, database))
