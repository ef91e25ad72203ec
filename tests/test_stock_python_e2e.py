"""The README's two commands on a stock Debian Python, which PEP 668 marks externally managed.

Debian's and Ubuntu's own ``python3`` refuse ``pip install`` outside a virtual environment
(``externally-managed-environment``). Each test copies the checkout, puts only the system's
directories on ``PATH`` (so ``python3`` is Debian's ``/usr/bin/python3``, not the one this
suite runs on) and runs the README's command there as a newcomer would paste it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.support.checkout import copy_checkout
from tests.support.infra import fresh_database, fresh_vhost, provide_broker, provide_database
from tests.support.smtp_sink import free_port
from tests.test_readme import BOOTSTRAP, fenced_command_after

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
STOCK_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
STOCK_PYTHON = Path("/usr/bin/python3")


def stock_env(**extra: str) -> dict[str, str]:
    """A newcomer's shell: this machine's environment (its certificates, its package
    indexes) with the system's PATH, and nothing that points at this suite's Python."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PYENV", "PYTHON", "UV_", "VIRTUAL_ENV", "PYTEST", "TEST_"))
    }
    return {**env, "PATH": STOCK_PATH, **extra}


def sh(command: str, cwd: Path, env: Mapping[str, str], timeout: float) -> str:
    result = subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"`{command}` exited {result.returncode}:\n{output[-4000:]}"
    return output


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The checkout's files (tracked and new, as git sees them) in a fresh directory."""
    copy = copy_checkout(tmp_path_factory.mktemp("stock") / "switchyard")
    yield copy
    shutil.rmtree(copy, ignore_errors=True)


def test_the_stock_python_is_externally_managed_and_refuses_a_plain_pip_install(
    checkout: Path,
) -> None:
    # What the test stands on: without the marker it would prove nothing.
    stdlib = subprocess.run(
        [str(STOCK_PYTHON), "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert (Path(stdlib) / "EXTERNALLY-MANAGED").is_file(), f"{STOCK_PYTHON} is not PEP 668"
    assert shutil.which("python3", path=STOCK_PATH) == str(STOCK_PYTHON)
    refused = subprocess.run(
        ["python3", "-m", "pip", "install", "uv"],
        cwd=checkout,
        env=stock_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode != 0
    assert "externally-managed-environment" in refused.stdout + refused.stderr


def test_the_readmes_run_command_works_on_the_stock_python(checkout: Path) -> None:
    command = fenced_command_after("Run it")
    assert command.startswith(BOOTSTRAP) and command.endswith("just dev")
    with (
        provide_broker(os.environ) as (broker, management),
        fresh_vhost(broker, management) as amqp_url,
        provide_database(os.environ) as server,
        fresh_database(server) as database_url,
    ):
        env = stock_env(
            AMQP_URL=amqp_url,
            DATABASE_URL=database_url,
            API_PORT=str(free_port()),
            METRICS_PORT="0",
            SMTP_PORT=str(free_port()),
        )
        # The command exactly, but the demo stops once its email is delivered.
        output = sh(command + " --once", checkout, env, timeout=600)
    assert "demo workflow finished: succeeded" in output
    assert "subject='Hello from just dev'" in output
    # The workspace's environment was built on the stock Python, not on this suite's.
    version = (checkout / ".venv/pyvenv.cfg").read_text()
    assert f"home = {STOCK_PYTHON.parent}" in version


def test_the_readmes_test_command_runs_its_tools_on_the_stock_python(checkout: Path) -> None:
    command = fenced_command_after("Run the tests")
    assert command.startswith(BOOTSTRAP)
    # The bootstrap exactly; then one package's tests through the same recipes, since the
    # whole suite under a second Python would double CI (this suite is that run).
    output = sh(
        BOOTSTRAP + ".tools/bin/just test-alone contracts", checkout, stock_env(), timeout=600
    )
    assert "test-alone: contracts: each passed alone" in output
