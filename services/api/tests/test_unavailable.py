"""A database that cannot be reached answers 503 with Retry-After; other errors stay 500."""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any

import pytest
from fastapi import FastAPI, Request
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from api import unavailable


class ServerSaid(Exception):
    """What a driver raises with the server's SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def said(sqlstate: str) -> DBAPIError:
    return DBAPIError("SELECT 1", {}, ServerSaid(sqlstate))


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(104, "Connection reset by peer"),
        OperationalError("SELECT 1", {}, Exception("server closed the connection")),
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
        IntegrityError("INSERT", {}, ServerSaid("23505")),
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
    with pytest.raises(DBAPIError):
        handle(said("42P01"))
