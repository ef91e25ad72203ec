"""The email worker's SMTP settings: credentials never without TLS, stated at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from email_worker.config import Settings
from switchyard_runtime.settings import load_settings


def load(monkeypatch: pytest.MonkeyPatch, **variables: str) -> Settings:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return load_settings(Settings)


def refusal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], **variables: str
) -> str:
    with pytest.raises(SystemExit) as exit_:
        load(monkeypatch, **variables)
    assert exit_.value.code == 2
    return capsys.readouterr().err


def test_no_tls_is_the_default_for_a_local_sink(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load(monkeypatch)
    assert settings.smtp_tls == "none"
    assert settings.smtp_username is None


def test_a_username_without_tls_stops_the_worker_naming_the_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stderr = refusal(monkeypatch, capsys, SMTP_USERNAME="mailer", SMTP_PASSWORD="s3cret")
    assert "SMTP_USERNAME" in stderr
    assert "SMTP_TLS=starttls" in stderr and "SMTP_TLS=implicit" in stderr
    assert "s3cret" not in stderr


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
def test_a_username_with_tls_is_accepted(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    settings = load(monkeypatch, SMTP_USERNAME="mailer", SMTP_TLS=mode)
    assert (settings.smtp_tls, settings.smtp_username) == (mode, "mailer")


def test_an_unknown_tls_mode_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "SMTP_TLS" in refusal(monkeypatch, capsys, SMTP_TLS="ssl")


def test_the_replaced_starttls_switch_is_refused_not_ignored(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Ignoring it would silently send in clear what used to go over STARTTLS.
    stderr = refusal(monkeypatch, capsys, SMTP_STARTTLS="true")
    assert "SMTP_STARTTLS" in stderr and "SMTP_TLS" in stderr


def test_a_ca_file_must_exist(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert "SMTP_CA_FILE" in refusal(monkeypatch, capsys, SMTP_CA_FILE=str(tmp_path / "no.pem"))
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    assert load(monkeypatch, SMTP_CA_FILE=str(tmp_path / "ca.pem")).smtp_ca_file == (
        tmp_path / "ca.pem"
    )
