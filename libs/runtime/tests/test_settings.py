"""PlatformSettings: defaults, derived driver URLs, and load_settings' exit on bad input."""

from __future__ import annotations

import pytest
from pydantic import Field, ValidationError

from switchyard_runtime.settings import (
    DEFAULT_AMQP_URL,
    DEFAULT_DATABASE_URL,
    PlatformSettings,
    load_settings,
)


def test_defaults_without_environment() -> None:
    settings = PlatformSettings()

    assert str(settings.amqp_url) == DEFAULT_AMQP_URL == "amqp://guest:guest@localhost:5672//"
    assert str(settings.database_url) == DEFAULT_DATABASE_URL
    assert DEFAULT_DATABASE_URL == "postgresql://postgres@localhost:5432/postgres"


def test_default_derived_urls() -> None:
    settings = PlatformSettings()

    assert settings.async_database_url == "postgresql+asyncpg://postgres@localhost:5432/postgres"
    assert settings.sync_database_url == "postgresql+psycopg://postgres@localhost:5432/postgres"
    assert settings.result_backend_url == "db+postgresql+psycopg://postgres@localhost:5432/postgres"


def test_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMQP_URL", "amqps://u:p@broker.internal:5671/vhost")
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:pw@db.internal:6543/platform")

    settings = PlatformSettings()

    assert str(settings.amqp_url) == "amqps://u:p@broker.internal:5671/vhost"
    assert settings.async_database_url == "postgresql+asyncpg://app:pw@db.internal:6543/platform"
    assert settings.sync_database_url == "postgresql+psycopg://app:pw@db.internal:6543/platform"
    assert settings.result_backend_url == "db+postgresql+psycopg://app:pw@db.internal:6543/platform"


def test_variable_names_are_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("database_url", "postgresql://x@h/d")
    assert PlatformSettings().sync_database_url == "postgresql+psycopg://x@h/d"


def test_postgres_scheme_alias_is_accepted_and_rewritten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://app@db:5432/platform")
    settings = PlatformSettings()
    assert settings.async_database_url == "postgresql+asyncpg://app@db:5432/platform"
    assert settings.result_backend_url == "db+postgresql+psycopg://app@db:5432/platform"


def test_percent_encoded_password_survives_the_derivation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:p%40ss%2Fw@db:5432/platform")
    settings = PlatformSettings()
    assert settings.sync_database_url == "postgresql+psycopg://app:p%40ss%2Fw@db:5432/platform"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://app@db/platform",
        "postgresql+psycopg://app@db/platform",
        "postgresql+psycopg2://app@db/platform",
    ],
)
def test_driver_schemes_are_rejected(url: str) -> None:
    with pytest.raises(ValidationError, match="plain postgresql://"):
        PlatformSettings.model_validate({"database_url": url})


@pytest.mark.parametrize("url", ["mysql://app@db/platform", "not a url"])
def test_non_postgres_database_urls_are_rejected(url: str) -> None:
    with pytest.raises(ValidationError):
        PlatformSettings.model_validate({"database_url": url})


@pytest.mark.parametrize("url", ["redis://localhost:6379/0", "localhost:5672"])
def test_non_amqp_broker_urls_are_rejected(url: str) -> None:
    with pytest.raises(ValidationError):
        PlatformSettings.model_validate({"amqp_url": url})


def test_unknown_variables_are_ignored() -> None:
    settings = PlatformSettings.model_validate({"smtp_host": "mx"})
    assert not hasattr(settings, "smtp_host")


# --- load_settings --------------------------------------------------------------------


def test_load_settings_returns_an_instance_of_the_class(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMQP_URL", "amqp://a:b@rabbit:5672/v")

    settings = load_settings(PlatformSettings)

    assert type(settings) is PlatformSettings
    assert str(settings.amqp_url) == "amqp://a:b@rabbit:5672/v"


def test_load_settings_exits_2_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AMQP_URL", "not a url")

    with pytest.raises(SystemExit) as info:
        load_settings(PlatformSettings)

    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("configuration error in PlatformSettings:\n")
    assert "  AMQP_URL: " in err
    assert "DATABASE_URL" not in err


def test_load_settings_names_a_rejected_scheme_without_echoing_the_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://app:hunter2@db/platform")

    with pytest.raises(SystemExit) as info:
        load_settings(PlatformSettings)

    assert info.value.code == 2
    captured = capsys.readouterr()
    assert "  DATABASE_URL: " in captured.err
    assert "plain postgresql://" in captured.err
    assert "hunter2" not in captured.err
    assert captured.out == ""


class ServiceSettings(PlatformSettings):
    smtp_port: int = Field(default=25, ge=1, le=65535)
    api_token: str


def test_load_settings_names_every_bad_variable_of_a_service(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("API_TOKEN", raising=False)
    monkeypatch.setenv("SMTP_PORT", "70000")
    monkeypatch.setenv("AMQP_URL", "http://example.com")

    with pytest.raises(SystemExit) as info:
        load_settings(ServiceSettings)

    assert info.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "configuration error in ServiceSettings:"
    named = sorted(line.strip().split(":", 1)[0] for line in lines[1:])
    assert named == ["AMQP_URL", "API_TOKEN", "SMTP_PORT"]


def test_load_settings_extends_platform_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_TOKEN", "t")
    monkeypatch.setenv("SMTP_PORT", "2525")

    settings = load_settings(ServiceSettings)

    assert (settings.api_token, settings.smtp_port) == ("t", 2525)
    assert settings.result_backend_url.startswith("db+postgresql+psycopg://")


# --- several broker nodes -------------------------------------------------------------

CLUSTER = "amqp://u:p@rabbit-a:5672/v;amqp://u:p@rabbit-b:5673/v; amqp://u:p@rabbit-c:5674/v"


def test_several_nodes_separated_by_semicolons() -> None:
    settings = PlatformSettings.model_validate({"amqp_url": CLUSTER})

    assert [(url.host, url.port) for url in settings.amqp_urls] == [
        ("rabbit-a", 5672),
        ("rabbit-b", 5673),
        ("rabbit-c", 5674),
    ]
    # Normalised (spaces around the separator dropped), in the order given.
    assert settings.amqp_url == CLUSTER.replace("; ", ";")


def test_one_node_is_one_url() -> None:
    settings = PlatformSettings.model_validate({"amqp_url": "amqp://a:b@rabbit:5672/v"})
    assert [str(url) for url in settings.amqp_urls] == ["amqp://a:b@rabbit:5672/v"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("amqp://u:p@a/v;", "node 2 of 2: empty"),
        ("amqp://u:p@a/v;;amqp://u:p@b/v", "node 2 of 3: empty"),
        ("amqp://u:p@a/v;http://u:p@b/v", "node 2 of 2: URL scheme should be 'amqp' or 'amqps'"),
        ("amqp://u:p@a/v;not a url", "node 2 of 2: Input should be a valid URL"),
        ("amqp://u:p@a/one;amqp://u:p@b/two", "same virtual host, not 'one', 'two'"),
        ("amqp://u:p@a//;amqp://u:p@b/other", "same virtual host, not '/', 'other'"),
    ],
)
def test_each_node_is_checked(url: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PlatformSettings.model_validate({"amqp_url": url})


def test_the_default_vhost_may_be_spelled_either_way() -> None:
    settings = PlatformSettings.model_validate({"amqp_url": "amqp://a:5672//;amqp://b:5672"})
    assert len(settings.amqp_urls) == 2


def test_a_bad_node_stops_the_service_naming_the_variable_not_the_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AMQP_URL", "amqp://u:hunter2@a:5672/v;amqp://u:hunter2@b:5672/w")

    with pytest.raises(SystemExit) as info:
        load_settings(PlatformSettings)

    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "  AMQP_URL: Value error, every node must name the same virtual host" in err
    assert "hunter2" not in err


def test_the_session_url_defaults_to_database_url() -> None:
    settings = PlatformSettings(database_url="postgresql://app@db:5432/platform")
    assert settings.session_database_url == "postgresql://app@db:5432/platform"
    assert settings.sync_session_database_url == "postgresql+psycopg://app@db:5432/platform"
    assert settings.async_session_database_url == "postgresql+asyncpg://app@db:5432/platform"
    assert not settings.transaction_pooled


def test_a_transaction_pooler_takes_the_pool_and_the_session_url_the_sessions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@pgbouncer:6432/platform")
    monkeypatch.setenv("DATABASE_SESSION_URL", "postgresql://app@db:5432/platform")
    monkeypatch.setenv("DATABASE_POOLER", "transaction")
    settings = PlatformSettings()
    assert settings.transaction_pooled
    assert settings.sync_database_url == "postgresql+psycopg://app@pgbouncer:6432/platform"
    assert settings.sync_session_database_url == "postgresql+psycopg://app@db:5432/platform"


def test_a_transaction_pooler_without_a_session_url_stops_the_service(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The leaderships and claims would otherwise take their session locks through it.
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@pgbouncer:6432/platform")
    monkeypatch.setenv("DATABASE_POOLER", "transaction")
    with pytest.raises(SystemExit):
        load_settings(PlatformSettings)
    err = capsys.readouterr().err
    assert "DATABASE_POOLER" in err and "DATABASE_SESSION_URL" in err


@pytest.mark.parametrize("pooler", ["session", "pgbouncer", ""])
def test_an_unknown_pooler_mode_is_refused(pooler: str) -> None:
    with pytest.raises(ValidationError):
        PlatformSettings(database_pooler=pooler)


def test_worker_settings_add_concurrency_and_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    from switchyard_runtime.settings import WorkerSettings

    defaults = WorkerSettings()
    assert (defaults.worker_concurrency, defaults.metrics_port) == (2, 0)
    assert defaults.metrics_host == "127.0.0.1"
    monkeypatch.setenv("WORKER_CONCURRENCY", "6")
    monkeypatch.setenv("METRICS_PORT", "")
    assert (WorkerSettings().worker_concurrency, WorkerSettings().metrics_port) == (6, 0)
    monkeypatch.setenv("WORKER_CONCURRENCY", "0")
    with pytest.raises(ValidationError):
        WorkerSettings()
