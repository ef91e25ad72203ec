"""A database that cannot be reached answers 503 with Retry-After; other errors stay 500."""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI, Request

from api import unavailable


def said(sqlstate: str) -> asyncpg.PostgresError:
    """What asyncpg raises when the server answers with ``sqlstate``."""
    error = asyncpg.PostgresError.new({"C": sqlstate, "M": f"server said {sqlstate}"})
    assert error.sqlstate == sqlstate
    return error


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(104, "Connection reset by peer"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        said("57P03"),  # the database system is starting up / shutting down
        said("57P01"),  # terminating connection due to administrator command
        said("08006"),  # connection failure
    ],
)
def test_an_unreachable_database_is_recognised(error: BaseException) -> None:
    assert unavailable.unreachable(error)


@pytest.mark.parametrize(
    "error",
    [
        said("23505"),  # a unique violation: the request, not the database
        said("42P01"),  # undefined table: a bug, not an outage
        ValueError("nope"),
    ],
)
def test_other_errors_are_not_an_outage(error: BaseException) -> None:
    assert not unavailable.unreachable(error)


def handle(error: Exception) -> Any:
    app = FastAPI()
    unavailable.install(app)
    # Starlette picks the handler of the nearest registered class in the error's MRO.
    handler = next(
        app.exception_handlers[cls] for cls in type(error).__mro__ if cls in app.exception_handlers
    )
    request = Request({"type": "http", "method": "POST", "path": "/v1/emails", "headers": []})

    async def call() -> Any:
        outcome = handler(request, error)
        return await outcome if inspect.isawaitable(outcome) else outcome

    return asyncio.run(call())


def test_it_answers_503_with_retry_after() -> None:
    response = handle(ConnectionRefusedError(111, "Connection refused"))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == unavailable.RETRY_AFTER
    assert "database" in json.loads(response.body)["detail"]


def test_a_failing_query_is_left_to_fail() -> None:
    with pytest.raises(asyncpg.PostgresError):
        handle(said("42P01"))
