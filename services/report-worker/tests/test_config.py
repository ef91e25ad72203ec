"""The report worker's settings: defaults, overrides, and a clear exit on a bad variable."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from report_worker.config import Settings, get_settings


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
    assert settings.worker_concurrency == 2
    assert settings.report_queues == "reports.default"
    assert str(settings.amqp_url) == "amqp://guest:guest@localhost:5672//"
    assert settings.sync_database_url == "postgresql+psycopg://postgres@localhost:5432/postgres"
    assert settings.result_backend_url.startswith("db+postgresql+psycopg://")


def test_variables_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKER_CONCURRENCY", "8")
    monkeypatch.setenv("REPORT_QUEUES", "reports.default,reports.slow")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db.example:6543/reports")
    settings = get_settings()
    assert settings.worker_concurrency == 8
    assert settings.report_queues == "reports.default,reports.slow"
    assert settings.sync_database_url == "postgresql+psycopg://u:p@db.example:6543/reports"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("WORKER_CONCURRENCY", "0"),
        ("WORKER_CONCURRENCY", "many"),
        ("AMQP_URL", "not a url"),
        ("DATABASE_URL", "postgresql+asyncpg://postgres@localhost/postgres"),
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
    others = {"WORKER_CONCURRENCY", "REPORT_QUEUES", "AMQP_URL", "DATABASE_URL"} - {variable}
    assert not [other for other in others if other in err]
    assert "Traceback" not in err
