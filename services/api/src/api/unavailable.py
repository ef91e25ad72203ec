"""A database that cannot be reached answers 503 with ``Retry-After``, not 500.

While PostgreSQL restarts, every request needs it (keys, workflows, the outbox) and
none can be served; that is the service being unavailable for a moment, which a client
should retry, not an error in the request or in the API. ``/readyz`` says the same.
"""

from __future__ import annotations

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.db import PoolExhausted

log = structlog.get_logger(__name__)

RETRY_AFTER = "2"
DETAIL = "the database is unavailable; retry shortly"
BUSY = "every database connection is busy; retry shortly"


def unreachable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached (rather than refused a query).

    asyncpg raises ``OSError`` itself when it cannot connect, an ``InterfaceError`` on a
    connection that broke, and passes on what the server says while it shuts down or
    starts (SQLSTATE ``57P0x``) or when a connection failed (class ``08``).
    """
    # A pool's bounded wait running out (``api.db.PoolExhausted``) is a ``TimeoutError``,
    # an ``OSError`` too: the database cannot be reached in time.
    if isinstance(error, OSError | asyncpg.InterfaceError):
        return True
    if not isinstance(error, asyncpg.PostgresError):
        return False
    sqlstate = str(getattr(error, "sqlstate", None) or "")
    return sqlstate.startswith(("08", "57P"))


def detail(error: BaseException) -> str:
    """What a client is told (503) for ``error``: never the error's own text, which can
    name hosts and ports (that goes to the log)."""
    return BUSY if isinstance(error, PoolExhausted) else DETAIL


def logged(error: BaseException, path: str) -> None:
    if isinstance(error, PoolExhausted):
        log.warning("database pool exhausted", path=path, error=str(error))
    else:
        log.warning("database unreachable", path=path, error=str(error))


async def _answer(request: Request, error: Exception) -> JSONResponse:
    if not unreachable(error):
        raise error
    logged(error, request.url.path)
    return JSONResponse(
        {"detail": detail(error)},
        status_code=503,
        headers={"Retry-After": RETRY_AFTER},
    )


def install(app: FastAPI) -> None:
    """Answer 503 to requests that failed because the database could not be reached."""
    app.add_exception_handler(OSError, _answer)
    app.add_exception_handler(asyncpg.InterfaceError, _answer)
    app.add_exception_handler(asyncpg.PostgresError, _answer)
