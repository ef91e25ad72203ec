"""The two hottest requests, served in front of FastAPI's router.

``GET /v1/workflows/{id}`` (pollers send it thousands of times a second) and
``POST /v1/emails`` (the work itself): FastAPI's routing and dependency resolution cost
such a request more than everything else it does together (``bench/README.md`` has the
profiles). This middleware answers the ones it fully understands itself, with the same
functions as the documented routes (the key check and rate limit of :mod:`api.deps`,
:func:`api.workflows.reading.answer`, :func:`api.routes.emails.accept`), and hands
everything else to FastAPI untouched, its body included: a path that is not a workflow
id, a ``wait`` or a body it cannot read or that does not validate, an
``Idempotency-Key``. A request without a valid key is refused here as FastAPI's routes
refuse it (:mod:`api.access.gate`: 401, or 429 past its address's budget). A request is
counted against the rate limit only once it is sure to be answered here, so what it
hands on is counted once, by FastAPI. It sits inside the request-id, log and metrics
middlewares (outside FastAPI's own), so its answers are logged and counted like any
other.
"""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import parse_qs
from uuid import UUID

import structlog
from fastapi import FastAPI
from pydantic import ValidationError
from starlette.types import Message, Receive, Scope, Send

from api import unavailable
from api.access import keys
from api.access.gate import Refusal, client_address
from api.access.held import TooManyHeld
from api.deps import held_refusal, rate_limited
from api.routes import emails
from api.schemas import EmailRequest
from api.services import Services
from api.workflows import reading

log = structlog.get_logger(__name__)

_WORKFLOW = re.compile(r"/v1/workflows/([0-9a-fA-F-]{32,36})")


class _Route:
    """What the metrics middleware reads of a route: its template."""

    def __init__(self, path: str) -> None:
        self.path = path


_READ_ROUTE = _Route("/v1/workflows/{workflow_id}")
_SUBMIT_ROUTE = _Route(emails.PATH)


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


async def _send(send: Send, status: int, headers: dict[str, str], body: bytes = b"") -> None:
    raw = [(k.lower().encode(), v.encode("latin-1")) for k, v in headers.items()]
    if status != 304:
        raw.append((b"content-length", str(len(body)).encode()))
        raw.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _refuse(send: Send, status: int, detail: str, headers: dict[str, str]) -> None:
    await _send(send, status, headers, json.dumps({"detail": detail}).encode())


def _replaying(body: bytes, receive: Receive) -> Receive:
    """``receive`` for FastAPI after the body was read here: the body, then the rest."""
    given = False

    async def again() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


async def _body(receive: Receive, length: int) -> bytes | None:
    """The request's body of ``length`` bytes; ``None`` when the client left."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            body = b"".join(chunks)
            return body if len(body) == length else None


class FastPaths:
    """Answers plain status reads and email submissions; passes the rest on to ``app``
    (the FastAPI app, whose state holds the services)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            services: Services | None = getattr(self.app.state, "services", None)
            handler = {"GET": self._read, "POST": self._submit}.get(scope["method"])
            try:
                answered = (
                    services is not None
                    and handler is not None
                    and await handler(scope, receive, send, services)
                )
                if answered:
                    return
            except _Twice:
                pass
            except _HandedOn as handed:
                await self.app(scope, handed.receive, send)
                return
            except Exception as error:
                if not unavailable.unreachable(error):
                    raise
                unavailable.logged(error, scope["path"])
                await _refuse(
                    send, 503, unavailable.detail(error), {"Retry-After": unavailable.RETRY_AFTER}
                )
                return
        await self.app(scope, receive, send)

    async def _caller(self, scope: Scope, send: Send, services: Services) -> keys.Caller | None:
        """The request's caller; ``None`` once it was refused (401 or 429) here."""
        caller = await services.gate.admit(_header(scope, b"authorization"), client_address(scope))
        if isinstance(caller, Refusal):
            await _refuse(send, caller.status, caller.detail, caller.headers)
            return None
        return caller

    def _over_limit(self, services: Services, caller: keys.Caller) -> int | None:
        return services.limiter.check(str(caller.key_id))

    async def _read(self, scope: Scope, receive: Receive, send: Send, services: Services) -> bool:
        matched = _WORKFLOW.fullmatch(scope["path"])
        if matched is None:
            return False
        try:
            workflow_id = UUID(matched.group(1))
        except ValueError:
            return False
        wait = _wait(scope.get("query_string", b""))
        if wait is None:
            return False
        if_none_match = _header(scope, b"if-none-match")
        scope["route"] = _READ_ROUTE
        caller = await self._caller(scope, send, services)
        if caller is None:
            return True
        retry_after = self._over_limit(services, caller)
        if retry_after is not None:
            await _refuse(send, 429, rate_limited(services), {"Retry-After": str(retry_after)})
            return True
        try:
            answer = await reading.answer(
                services.pool,
                services.watchers,
                workflow_id,
                caller,
                wait=wait,
                if_none_match=if_none_match,
                cap=services.settings.long_polls_per_key,
            )
        except TooManyHeld as refused:
            status, detail, headers = held_refusal(refused)
            await _refuse(send, status, detail, headers)
            return True
        if answer is None:
            await _refuse(send, 404, reading.NOT_FOUND, {})
        else:
            await _send(send, answer.status, answer.headers, (answer.body or "").encode())
        return True

    async def _submit(self, scope: Scope, receive: Receive, send: Send, services: Services) -> bool:
        if scope["path"] != emails.PATH or _header(scope, b"idempotency-key") is not None:
            return False
        content_type = (_header(scope, b"content-type") or "").split(";")[0].strip()
        length = _header(scope, b"content-length")
        if content_type != "application/json" or length is None or not length.isdigit():
            return False
        if int(length) > services.settings.max_body_bytes:
            return False  # FastAPI's body limit answers 413
        scope["route"] = _SUBMIT_ROUTE
        caller = await self._caller(scope, send, services)
        if caller is None:
            return True
        body = await _body(receive, int(length))
        if body is None:
            return True  # the client left, or sent another length than it said: no answer
        try:
            request = EmailRequest.model_validate_json(body)
        except ValidationError:
            # FastAPI answers 422 naming each field, and counts the call.
            raise _HandedOn(_replaying(body, receive)) from None
        retry_after = self._over_limit(services, caller)
        if retry_after is not None:
            await _refuse(send, 429, rate_limited(services), {"Retry-After": str(retry_after)})
            return True
        request_id = scope.get("state", {}).get("request_id") or str(uuid.uuid4())
        response = await emails.accept(services, request, caller=caller, request_id=request_id)
        await response(scope, receive, send)
        return True


class _HandedOn(Exception):
    """Hand the request to FastAPI with this ``receive`` (its body was read here)."""

    def __init__(self, receive: Receive) -> None:
        super().__init__("handed on")
        self.receive = receive
