"""The ceiling of a status read: the least a server can do to answer
``GET /v1/workflows/{id}`` with the row the product serves.

A bare ASGI app (no framework, no authentication, no middleware) with one asyncpg pool,
made in the ASGI lifespan, and one query: the stored document as text and its ETag,
sent as they are. Run it with ``uvicorn bench.ceiling:app`` (one process);
``DATABASE_URL`` names the database, ``BENCH_TENANT`` the tenant whose rows it reads.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import asyncpg

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

QUERY = "SELECT document::text, etag FROM api.workflows WHERE id = $1 AND tenant = $2"
PREFIX = "/v1/workflows/"
NOT_FOUND = b'{"detail":"workflow not found"}'


class Ceiling:
    """The app: ``uvicorn`` calls it once for the lifespan and once per request."""

    def __init__(self) -> None:
        self._pool: Any = None
        self._tenant = ""

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._read(scope, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._tenant = os.environ.get("BENCH_TENANT", "bench")
                self._pool = await asyncpg.create_pool(os.environ["DATABASE_URL"])
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _read(self, scope: MutableMapping[str, Any], send: Send) -> None:
        row = None
        path: str = scope["path"]
        if scope["method"] == "GET" and path.startswith(PREFIX):
            try:
                workflow_id = uuid.UUID(path.removeprefix(PREFIX))
            except ValueError:
                pass  # not an id: no such workflow
            else:
                row = await self._pool.fetchrow(QUERY, workflow_id, self._tenant)
        if row is None or row[0] is None:
            status, body, headers = 404, NOT_FOUND, []
        else:
            status, body = 200, row[0].encode()
            headers = [(b"etag", row[1].encode())] if row[1] is not None else []
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


app = Ceiling()
