"""One id per HTTP request, from the caller's ``X-Request-ID`` or made here.

The id is bound to every log line written while the request is handled (a structlog
context variable), returned in the response's ``X-Request-ID``, stored on a workflow the
request starts, and carried in its tasks' message headers to the workers, which log it
too: ``grep <id>`` over every service's logs tells the request's whole story.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Annotated

import structlog
from fastapi import Depends, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-ID"
_HEADER_KEY = HEADER.lower().encode()

#: What a caller's id may look like: it ends up in log lines and headers verbatim.
_VALID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}")

log = structlog.get_logger("api.http")


def request_id_from(value: str | None) -> str:
    """The caller's id when it is a sensible one, else a new UUID."""
    if value is not None and _VALID.fullmatch(value):
        return value
    return str(uuid.uuid4())


#: Completes a response's raw headers in place (:func:`api.security_headers.add`).
HeaderHook = Callable[[list[tuple[bytes, bytes]]], None]

#: Methods that only read: a successful one is not logged unless ``log_reads`` is on.
READS = frozenset({"GET", "HEAD"})


class RequestIdMiddleware:
    """Binds ``request_id`` for the request, echoes it, and logs one line per request.

    Successful reads (``GET``/``HEAD`` answered below 400) are not logged unless
    ``log_reads``: status reads come by the thousand a second from pollers, and a log
    line costs one about as much as the read itself.

    Being the outermost layer, it also hands every response's headers to ``add_headers``
    (the security headers, in the same copy of the list: no layer of their own).
    """

    def __init__(
        self, app: ASGIApp, log_reads: bool = True, add_headers: HeaderHook | None = None
    ) -> None:
        self.app = app
        self.log_reads = log_reads
        self.add_headers = add_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next(
            (value.decode("latin-1") for key, value in scope["headers"] if key == _HEADER_KEY),
            None,
        )
        request_id = request_id_from(given)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k != _HEADER_KEY]
                headers.append((_HEADER_KEY, request_id.encode()))
                if self.add_headers is not None:
                    self.add_headers(headers)
                message = {**message, "headers": headers}
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception:
                log.exception("request failed", method=scope["method"], path=scope["path"])
                raise
            finally:
                if self.log_reads or status >= 400 or scope["method"] not in READS:
                    log.info(
                        "request",
                        method=scope["method"],
                        path=scope["path"],
                        status=status,
                        duration_ms=round((time.perf_counter() - started) * 1000, 1),
                    )


async def get_request_id(request: Request) -> str:
    """This request's id (set by :class:`RequestIdMiddleware`); ``async`` so that FastAPI
    does not run it in its thread pool."""
    request_id: str = getattr(request.state, "request_id", None) or str(uuid.uuid4())
    return request_id


RequestIdDep = Annotated[str, Depends(get_request_id)]
