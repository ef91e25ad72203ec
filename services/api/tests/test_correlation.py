"""X-Request-ID: taken from the caller or made, bound to the logs, returned on every answer."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
import structlog
from starlette.types import Message, Receive, Scope, Send

from api.correlation import RequestIdMiddleware, request_id_from
from switchyard_runtime.logs import configure_logging


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("given", ["r-1", "0af7651916cd43dd8448eb211c80319c", "a.b:c/d@e+f=g"])
def test_a_sensible_id_is_kept(given: str) -> None:
    assert request_id_from(given) == given


@pytest.mark.parametrize("given", [None, "", "two words", "x" * 129, "-leading", "a\nb", "ü"])
def test_anything_else_gets_a_new_uuid(given: str | None) -> None:
    assert uuid.UUID(request_id_from(given))


async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    structlog.get_logger("api.test").info("handling", path=scope["path"])
    await send(
        {
            "type": "http.response.start",
            "status": 202,
            "headers": [(b"x-request-id", b"spoofed"), (b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": b"ok"})


async def failing(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("boom")


def call(app: Any, headers: list[tuple[bytes, bytes]]) -> list[Message]:
    sent: list[Message] = []
    scope = {"type": "http", "method": "POST", "path": "/v1/emails", "headers": headers}

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    configure_logging("api")  # here: onto the stderr that capsys captures for this test
    anyio.run(RequestIdMiddleware(app), scope, receive, send)
    return sent


def test_the_callers_id_is_returned_once_and_on_every_line_of_the_request(
    capsys: pytest.CaptureFixture[str],
) -> None:
    start, _ = call(endpoint, [(b"x-request-id", b"req-42")])

    assert [v for k, v in start["headers"] if k == b"x-request-id"] == [b"req-42"]
    handling, request = lines(capsys.readouterr().err)
    assert handling["event"] == "handling" and handling["request_id"] == "req-42"
    assert request["event"] == "request"
    assert request["request_id"] == "req-42"
    assert request["status"] == 202
    assert request["method"] == "POST" and request["path"] == "/v1/emails"
    assert request["duration_ms"] >= 0


def test_without_one_an_id_is_made_and_the_context_is_left_clean(
    capsys: pytest.CaptureFixture[str],
) -> None:
    start, _ = call(endpoint, [])

    [made] = [v.decode() for k, v in start["headers"] if k == b"x-request-id"]
    assert uuid.UUID(made)
    assert structlog.contextvars.get_contextvars() == {}
    assert {line["request_id"] for line in lines(capsys.readouterr().err)} == {made}


def test_a_failing_request_is_logged_with_its_id(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        call(failing, [(b"x-request-id", b"req-err")])

    failed, request = lines(capsys.readouterr().err)
    assert failed["event"] == "request failed" and failed["request_id"] == "req-err"
    assert "RuntimeError: boom" in failed["exception"]
    assert request["status"] == 500
