"""configure_logging: one JSON line per record off a terminal, naming the service."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog

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


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_root_logger_gets_exactly_one_stderr_handler(capsys: pytest.CaptureFixture[str]) -> None:
    logging.getLogger().addHandler(logging.NullHandler())

    configure_logging("svc", level="WARNING")

    root = logging.getLogger()
    assert len(root.handlers) == 1
    assert isinstance(root.handlers[0].formatter, structlog.stdlib.ProcessorFormatter)
    assert root.level == logging.WARNING


def test_stdlib_records_become_json_with_service_and_level(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("email-worker")

    logging.getLogger("some.library").warning("disk %s", "full")

    (line,) = json_lines(capsys.readouterr().err)
    assert line["event"] == "disk full"
    assert line["service"] == "email-worker"
    assert line["level"] == "warning"
    assert "timestamp" in line
    assert isinstance(line["process"], int)


def test_structlog_events_carry_bound_context(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("api")
    structlog.contextvars.bind_contextvars(request_id="r-1")

    structlog.get_logger("api.test").info("accepted", workflow_id="w-1")

    (line,) = json_lines(capsys.readouterr().err)
    assert line["event"] == "accepted"
    assert line["service"] == "api"
    assert line["request_id"] == "r-1"
    assert line["workflow_id"] == "w-1"
    assert line["level"] == "info"


def test_level_filters_records(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("svc", level="ERROR")

    logging.getLogger("x").info("hidden")
    logging.getLogger("x").error("shown")

    assert [line["event"] for line in json_lines(capsys.readouterr().err)] == ["shown"]


def test_exceptions_are_rendered_into_the_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("svc")

    try:
        raise ValueError("bad thing")
    except ValueError:
        logging.getLogger("x").exception("failed")

    (line,) = json_lines(capsys.readouterr().err)
    assert line["event"] == "failed"
    assert "ValueError: bad thing" in str(line["exception"])
