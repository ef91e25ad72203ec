"""Status reads served in front of FastAPI's router: the hottest request, kept light.

``GET /v1/workflows/{id}`` is what pollers send thousands of times a second. FastAPI's
routing and dependency resolution cost such a read more than everything else it does
together (``bench/README.md`` has the profile), so this middleware answers the reads it
can fully understand itself, with the same key check, rate limit and answers
(:func:`api.workflows.reading.answer`) as the documented route, and hands everything
else to FastAPI untouched: a path that is not a workflow id, a ``wait`` it cannot read,
a missing or unknown key. Nothing is counted (the rate limit) before it is sure it
answers, so what it hands on is seen exactly once. It sits inside the request-id, log
and metrics middlewares, so its answers are logged and counted like any other.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs
from uuid import UUID

from starlette.types import ASGIApp, Receive, Scope, Send

from api import unavailable
from api.access import keys
from api.deps import Services, rate_limited
from api.workflows import reading

#: The documented route's template, as the metrics label it.
TEMPLATE = "/v1/workflows/{workflow_id}"
_PATH = re.compile(r"/v1/workflows/([0-9a-fA-F-]{32,36})")


class _Route:
    """What the metrics middleware reads of a route: its template."""

    path = TEMPLATE


class _Twice(Exception):
    """A header this path reads was given more than once: FastAPI decides."""


def _header(scope: Scope, name: bytes) -> str | None:
    found = None
    for key, value in scope["headers"]:
        if key == name:
            if found is not None:
                raise _Twice(name)
            found = value.decode("latin-1")
    return found


def _wait(query: bytes) -> float | None:
    """``wait`` from the query string (0 when absent), or ``None`` when it is not a
    number FastAPI would accept (FastAPI then answers 422 naming it)."""
    if not query:
        return 0.0
    values = parse_qs(query.decode("latin-1"), keep_blank_values=True).get("wait")
    if values is None:
        return 0.0
    if len(values) != 1:
        return None
    try:
        wait = float(values[0])
    except ValueError:
        return None
    return wait if 0 <= wait <= reading.MAX_WAIT else None


async def _send(
    send: Send, status: int, headers: dict[str, str], body: bytes = b"", json_body: bool = True
) -> None:
    raw = [(k.lower().encode(), v.encode("latin-1")) for k, v in headers.items()]
    if status != 304:
        raw.append((b"content-length", str(len(body)).encode()))
        if json_body:
            raw.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class FastReads:
    """Answers plain status reads; passes every other request on to ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        matched = _PATH.fullmatch(scope["path"])
        if matched is None:
            await self.app(scope, receive, send)
            return
        services: Services | None = getattr(scope["app"].state, "services", None)
        try:
            workflow_id = UUID(matched.group(1))
        except ValueError:
            workflow_id = None
        wait = _wait(scope.get("query_string", b""))
        try:
            authorization = _header(scope, b"authorization")
            if_none_match = _header(scope, b"if-none-match")
        except _Twice:
            authorization = None
        scheme, _, key = (authorization or "").partition(" ")
        if services is None or workflow_id is None or wait is None or scheme.lower() != "bearer":
            await self.app(scope, receive, send)
            return
        try:
            await self._read(
                scope, receive, send, services, workflow_id, key.strip(), wait, if_none_match
            )
        except Exception as error:
            if not unavailable.unreachable(error):
                raise
            await _send(
                send,
                503,
                {"Retry-After": unavailable.RETRY_AFTER},
                json.dumps({"detail": unavailable.DETAIL}).encode(),
            )

    async def _read(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        services: Services,
        workflow_id: UUID,
        key: str,
        wait: float,
        if_none_match: str | None,
    ) -> None:
        caller = await keys.authenticate(services.pool, key, services.keys)
        if caller is None:
            # FastAPI's route gives the documented 401 (it looks the key up once more).
            await self.app(scope, receive, send)
            return
        scope["route"] = _Route()
        retry_after = services.limiter.check(str(caller.key_id))
        if retry_after is not None:
            body: dict[str, Any] = {"detail": rate_limited(services)}
            await _send(send, 429, {"Retry-After": str(retry_after)}, json.dumps(body).encode())
            return
        answer = await reading.answer(
            services.pool,
            services.watchers,
            workflow_id,
            caller.tenant,
            wait=wait,
            if_none_match=if_none_match,
        )
        if answer is None:
            await _send(send, 404, {}, json.dumps({"detail": reading.NOT_FOUND}).encode())
        else:
            body_text = (answer.body or "").encode()
            await _send(send, answer.status, answer.headers, body_text)
