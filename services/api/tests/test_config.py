"""The API's settings: defaults, overrides, and a clear exit on a bad variable."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from api.config import Settings, get_settings
from contracts import WorkflowKind


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No variable of the process leaks in, and every test reads the environment afresh."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_defaults() -> None:
    settings = get_settings()
    assert settings.api_host == "127.0.0.1"
    assert settings.api_port == 8000
    assert str(settings.amqp_url) == "amqp://guest:guest@localhost:5672//"
    assert settings.async_database_url == "postgresql+asyncpg://postgres@localhost:5432/postgres"


def test_host_and_port_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_HOST", "0.0.0.0")
    monkeypatch.setenv("API_PORT", "9090")
    settings = get_settings()
    assert settings.api_host == "0.0.0.0"
    assert settings.api_port == 9090


@pytest.mark.parametrize("value", ["eighty", "0", "65536", "-1", ""])
def test_a_bad_api_port_exits_2_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    monkeypatch.setenv("API_PORT", value)
    with pytest.raises(SystemExit) as exc:
        get_settings()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "API_PORT" in err
    # Only the bad variable is named, and no traceback is printed.
    assert "API_HOST" not in err
    assert "AMQP_URL" not in err
    assert "Traceback" not in err


def test_every_bad_variable_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("API_PORT", "x")
    monkeypatch.setenv("DATABASE_URL", "mysql://root@localhost/db")
    with pytest.raises(SystemExit) as exc:
        get_settings()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "API_PORT" in err
    assert "DATABASE_URL" in err


@pytest.mark.parametrize(
    ("name", "value"), [("RATE_LIMIT", "lots"), ("IDEMPOTENCY_TTL_HOURS", "1")]
)
def test_a_bad_rate_limit_or_short_idempotency_window_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exc:
        get_settings()
    assert exc.value.code == 2
    assert name in capsys.readouterr().err


def test_quotas_have_sane_defaults_and_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = get_settings()
    assert (settings.quota_recipients_per_day, settings.quota_reports_per_hour) == (10_000, 100)
    monkeypatch.setenv("QUOTA_RECIPIENTS_PER_DAY", "5")
    monkeypatch.setenv("QUOTA_REPORTS_PER_HOUR", "0")
    get_settings.cache_clear()
    settings = get_settings()
    assert (settings.quota_recipients_per_day, settings.quota_reports_per_hour) == (5, 0)


@pytest.mark.parametrize("name", ["QUOTA_RECIPIENTS_PER_DAY", "QUOTA_REPORTS_PER_HOUR"])
def test_a_negative_quota_exits_2_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    monkeypatch.setenv(name, "-1")
    with pytest.raises(SystemExit) as exc:
        get_settings()
    assert exc.value.code == 2
    assert name in capsys.readouterr().err


def test_the_rate_limit_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RATE_LIMIT", "20/second;1000/minute")
    assert get_settings().rate_limit == "20/second;1000/minute"


def test_every_kind_has_a_deadline_with_sane_defaults() -> None:
    settings = get_settings()
    assert settings.deadline_of("email") == timedelta(hours=1)
    assert settings.deadline_of("report") == timedelta(hours=6)
    assert settings.deadline_of("report_batch") == timedelta(hours=6)
    for kind in WorkflowKind:  # a new kind needs its own DEADLINE_<KIND>
        assert settings.deadline_of(kind) >= timedelta(seconds=1)
    assert settings.shortest_deadline == timedelta(hours=1)


def test_a_kind_s_deadline_comes_from_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEADLINE_REPORT_BATCH", "1.5")
    settings = get_settings()
    assert settings.deadline_of("report_batch") == timedelta(seconds=1.5)
    assert settings.shortest_deadline == timedelta(seconds=1.5)


def test_an_unknown_kind_has_no_deadline() -> None:
    with pytest.raises(ValueError):
        get_settings().deadline_of("fax")


@pytest.mark.parametrize("value", ["0", "0.5", "-1", "soon"])
def test_a_bad_deadline_exits_2_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    monkeypatch.setenv("DEADLINE_EMAIL", value)
    with pytest.raises(SystemExit) as exc:
        get_settings()
    assert exc.value.code == 2
    assert "DEADLINE_EMAIL" in capsys.readouterr().err
