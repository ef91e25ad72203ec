"""The scheduler's settings: the shared broker and database variables, and its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scheduler.config import Settings, get_settings


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
    assert str(settings.amqp_url) == "amqp://guest:guest@localhost:5672//"
    assert settings.result_backend_url == (
        "db+postgresql+psycopg://postgres@localhost:5432/postgres"
    )


def test_variables_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMQP_URL", "amqp://user:secret@rabbit.example:5673/platform")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.example/sched")
    settings = get_settings()
    assert settings.amqp_urls[0].host == "rabbit.example"
    assert settings.amqp_urls[0].port == 5673
    assert settings.result_backend_url == "db+postgresql+psycopg://u@db.example/sched"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AMQP_URL", "not a url"),
        ("AMQP_URL", "http://localhost:5672//"),
        ("DATABASE_URL", "mysql://root@localhost/db"),
        ("DATABASE_URL", "postgresql+psycopg://postgres@localhost/postgres"),
    ],
)
def test_a_bad_variable_exits_2_naming_it(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as exc:
        get_settings()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"  {variable}: " in err
    other = ({"AMQP_URL", "DATABASE_URL"} - {variable}).pop()
    assert other not in err
    assert "Traceback" not in err


def test_unrelated_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every service reads the same environment: another service's variable is no error.
    monkeypatch.setenv("API_PORT", "not a port")
    monkeypatch.setenv("SMTP_PORT", "nor this")
    assert str(get_settings().amqp_url) == "amqp://guest:guest@localhost:5672//"


def test_scheduled_runs_belong_to_the_system_tenant_and_mail_nobody_by_default() -> None:
    settings = get_settings()
    assert settings.scheduler_tenant == "system"
    assert settings.report_recipients == []


def test_report_recipients_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPORT_RECIPIENTS", " ops@example.com,, cfo@example.com ")
    monkeypatch.setenv("SCHEDULER_TENANT", "ops-team")
    settings = get_settings()
    assert settings.report_recipients == ["ops@example.com", "cfo@example.com"]
    assert settings.scheduler_tenant == "ops-team"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("REPORT_RECIPIENTS", "ops@example.com, not an address"),
        ("SCHEDULER_TENANT", "Ops Team"),
        ("SCHEDULER_TENANT", ""),
    ],
)
def test_a_bad_scheduler_variable_exits_2_naming_it(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as exc:
        get_settings()
    assert exc.value.code == 2
    assert f"  {variable}: " in capsys.readouterr().err
