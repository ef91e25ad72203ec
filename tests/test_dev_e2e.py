"""`just dev` as a new user runs it: migrations, every service, the demo email delivered."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.infra import fresh_database, fresh_vhost, provide_broker, provide_database
from tests.support.smtp_sink import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent


def test_dev_runs_the_system_and_its_demo_email_succeeds_and_arrives() -> None:
    with (
        provide_broker(os.environ) as (broker, management),
        fresh_vhost(broker, management) as amqp_url,
        provide_database(os.environ) as server,
        fresh_database(server) as database_url,
    ):
        env = {
            **os.environ,
            "AMQP_URL": amqp_url,
            "DATABASE_URL": database_url,
            "API_PORT": str(free_port()),
            # Every service gets it: none serves metrics (the API's default port may be
            # held by another run).
            "METRICS_PORT": "0",
            "SMTP_PORT": str(free_port()),
        }
        result = subprocess.run(
            [sys.executable, "scripts/dev.py", "--once"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "demo workflow finished: succeeded" in output
    assert "[smtp-sink] from=" in output and "subject='Hello from just dev'" in output
    # The scheduler's state is migrated and the API's intake (its ticks' way in) runs.
    assert "scheduler: schema at head" in output
    # Made the database roles first; the services ran on them (README: Database roles).
    assert "api: database roles api, email_worker, report_worker, scheduler, migrator" in output
    assert "[api-intake] " in output


def test_dev_says_which_dependency_is_missing_and_how_to_provide_it() -> None:
    env = {
        **os.environ,
        "AMQP_URL": f"amqp://guest:guest@127.0.0.1:{free_port()}//",
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/postgres",
    }
    result = subprocess.run(
        [sys.executable, "scripts/dev.py", "--once"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "RabbitMQ is not reachable" in result.stdout
    assert "PostgreSQL is not reachable" in result.stdout
    assert "just up" in result.stdout and "AMQP_URL=" in result.stdout
