"""Start-up and readiness when configuration or a dependency is wrong."""

from __future__ import annotations

import os
import subprocess

import httpx
import pytest

from tests.support import processes
from tests.support.smtp_sink import free_port

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(
    ("command", "variable", "value"),
    [
        ("api", "AMQP_URL", "not a url"),
        ("api", "DATABASE_URL", "mysql://root@localhost/db"),
        ("api", "API_PORT", "eighty"),
        ("email-worker", "SMTP_PORT", "99999"),
        ("report-worker", "DATABASE_URL", "nonsense"),
        ("scheduler", "AMQP_URL", "http://wrong-scheme"),
    ],
)
def test_a_malformed_setting_stops_the_service_naming_the_variable(
    migrated: dict[str, str], command: str, variable: str, value: str
) -> None:
    result = subprocess.run(
        [str(processes.BIN / command)],
        env={**os.environ, **migrated, variable: value},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert variable in result.stderr
    assert "Traceback" not in result.stderr


def test_readyz_names_the_broker_when_it_is_down(
    migrated: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    port = free_port()
    dead_broker = f"amqp://guest:guest@127.0.0.1:{free_port()}//"
    env = {**migrated, "AMQP_URL": dead_broker, "API_HOST": "127.0.0.1", "API_PORT": str(port)}
    api = processes.start("api-no-broker", ["api"], env, tmp_path_factory.mktemp("no-broker"))
    try:
        processes.wait_until_ready(api, f"http://127.0.0.1:{port}/healthz")
        response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=15)
        assert response.status_code == 503
        body = response.json()
        assert body["down"] == ["broker"]
        assert body["checks"]["database"] == "ok"
    finally:
        api.stop()
