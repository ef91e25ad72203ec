"""``just new-worker`` in a copy of the repository: the new worker passes everything CI runs.

The copy holds what git tracks or would track (``git ls-files --cached --others
--exclude-standard``); the recipe runs there, then the copy's own environment (synced
from the lock the recipe updated) runs the new package's tests, alone too, the contract
guard, the contracts' and the deploy tests, ruff and mypy; finally the new worker runs as
a process on a fresh vhost and answers its example task through the result backend.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import processes
from tests.support.checkout import copy_checkout

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
NAME = "demo-worker"


def run(argv: list[str | Path], cwd: Path, timeout: float = 600) -> str:
    """``argv`` in the copy, with the copy's own environment; its output, or a failure."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "PYTHONPATH"}
    }
    done = subprocess.run(
        [str(arg) for arg in argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(map(str, argv))} exited {done.returncode}:\n{output}"
    return output


def tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} is not on PATH (the README's install puts it in .tools/bin)"
    return found


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the repository in which ``just new-worker demo-worker`` ran."""
    target = copy_checkout(tmp_path_factory.mktemp("repository"))
    run([tool("just"), "new-worker", NAME], target)
    yield target


def test_the_recipe_writes_the_package_its_contract_and_their_wiring(copy: Path) -> None:
    package = copy / "services" / NAME
    for part in ("cli", "config", "worker", "tasks"):
        assert (package / "src" / "demo_worker" / f"{part}.py").is_file(), part
    assert (copy / "libs" / "contracts" / "src" / "contracts" / "demo.py").is_file()
    assert (
        copy / "libs" / "contracts" / "src" / "contracts" / "snapshots" / "demo.process.json"
    ).is_file()
    assert '"demo-worker"' in (copy / "uv.lock").read_text()
    compose = (copy / "docker-compose.yml").read_text()
    assert "celery -A demo_worker.worker:app inspect ping -d demo-worker@$$HOSTNAME" in compose
    assert "RABBITMQ_DEMO_WORKER_PASSWORD=" in (copy / ".env.example").read_text()
    packages = f"contracts runtime api email-worker report-worker scheduler client cli {NAME}"
    assert f'packages := "{packages}"' in (copy / "justfile").read_text()


def test_a_taken_or_malformed_name_is_refused_and_nothing_changes(copy: Path) -> None:
    before = (copy / "libs/contracts/src/contracts/routing.py").read_text()
    for name, reason in ((NAME, "exists already"), ("Demo_Worker", "lowercase letters")):
        done = subprocess.run(
            [tool("just"), "new-worker", name], cwd=copy, capture_output=True, text=True
        )
        assert done.returncode != 0, name
        assert reason in done.stderr, done.stderr
    assert (copy / "libs/contracts/src/contracts/routing.py").read_text() == before


def test_the_new_package_and_what_it_touched_pass_ci_in_the_copy(copy: Path) -> None:
    run([tool("uv"), "sync", "--frozen", "--all-packages", "--quiet"], copy)
    bin_ = copy / ".venv" / "bin"
    pytest_args: list[str | Path] = [bin_ / "pytest", "-q", "-p", "no:cacheprovider"]
    output = run([*pytest_args, f"services/{NAME}/tests"], copy)
    assert "4 passed" in output, output
    run(
        [
            *pytest_args,
            "libs/contracts/tests",
            "libs/runtime/tests",
            "tests/deploy/test_broker_grants.py",
            "tests/deploy/test_compose.py",
        ],
        copy,
    )
    run([bin_ / "python", "-m", "contracts.compat"], copy)
    run([tool("just"), "test-alone", NAME], copy)
    run([bin_ / "ruff", "check", "."], copy)
    run([bin_ / "ruff", "format", "--check", "."], copy)
    run(
        [
            bin_ / "mypy",
            f"services/{NAME}/src",
            f"services/{NAME}/tests",
            "libs/contracts/src",
            "libs/runtime/src",
        ],
        copy,
    )


SEND = textwrap.dedent(
    """
    from switchyard_runtime import create_celery_app, load_settings
    from switchyard_runtime.settings import PlatformSettings

    app = create_celery_app("new-worker-tests", load_settings(PlatformSettings))
    print(app.send_task("demo.process", kwargs={"subject": "hello"}).get(timeout=120))
    """
)


def test_the_new_worker_runs_its_example_task(
    copy: Path, bare_amqp_url: str, migrated: dict[str, str], tmp_path: Path
) -> None:
    run([tool("uv"), "sync", "--frozen", "--all-packages", "--quiet"], copy)
    env = {**migrated, "AMQP_URL": bare_amqp_url}
    log_path = tmp_path / f"{NAME}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [copy / ".venv" / "bin" / NAME],
            env={**os.environ, "METRICS_PORT": "0", **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker = processes.ServiceProcess(NAME, process, log_path)
    try:
        processes.wait_for_log(worker, "ready.")
        sent = subprocess.run(
            [copy / ".venv" / "bin" / "python", "-c", SEND],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert sent.returncode == 0, f"{sent.stdout}{sent.stderr}\n{worker.tail()}"
        assert "{'subject': 'hello', 'done': True}" in sent.stdout, sent.stdout
    finally:
        worker.stop()
