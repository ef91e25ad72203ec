"""The contracts and the runtime as another team installs them: built wheels, empty venvs.

A team that only sends a task installs the ``contracts`` wheel: pydantic and kombu, at
most 12 distributions in all, with the snapshots inside, so its own CI can run the
compatibility guard. A team that runs a worker adds the ``runtime`` wheel, whose metrics
and tracing are extras: without them it imports, runs, and says what a setting needs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deploy.compose import ROOT

#: The issue's bound: the contracts wheel and everything it pulls into an empty venv.
MOST_DISTRIBUTIONS = 12

#: What neither a producer nor the contracts' guard needs; the runtime's, or its extras'.
NOT_FOR_PRODUCERS = {
    "celery",
    "sqlalchemy",
    "psycopg",
    "psycopg-binary",
    "alembic",
    "structlog",
    "pydantic-settings",
    "prometheus-client",
    "opentelemetry-api",
    "opentelemetry-sdk",
    "runtime",
}


@dataclass(frozen=True)
class Venv:
    python: Path
    uv: str

    def install(self, *requirements: str | Path) -> None:
        run([self.uv, "pip", "install", "--quiet", "--python", self.python, *requirements])

    def distributions(self) -> dict[str, str]:
        listed = run([self.uv, "pip", "list", "--python", self.python, "--format", "json"])
        return {row["name"]: row["version"] for row in json.loads(listed)}

    def python_run(
        self, code: str, cwd: Path, env: dict[str, str] | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return self._run(["-c", code], cwd, env, check)

    def module(self, argv: list[str | Path], cwd: Path) -> subprocess.CompletedProcess[str]:
        """``python -m argv...``, as another repository's CI runs it."""
        return self._run(["-m", *map(str, argv)], cwd, None, False)

    def _run(
        self, argv: list[str], cwd: Path, env: dict[str, str] | None, check: bool
    ) -> subprocess.CompletedProcess[str]:
        # Not the checkout's PYTHONPATH, not its working directory: only what is installed.
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL"))}
        return subprocess.run(
            [str(self.python), *argv],
            cwd=cwd,
            env={**clean, **(env or {})},
            capture_output=True,
            text=True,
            check=check,
        )


def run(argv: list[str | Path]) -> str:
    done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


def uv() -> str:
    found = shutil.which("uv")
    assert found, "uv is not on PATH (the README's .tools/bin, or pip install uv)"
    return found


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("wheels")
    for package in ("contracts", "runtime"):
        run([uv(), "build", "--quiet", "--wheel", "--out-dir", out, ROOT / "libs" / package])
    return {p.name.split("-")[0]: p for p in out.glob("*.whl")}


def empty_venv(path: Path) -> Venv:
    run([uv(), "venv", "--quiet", "--python", sys.executable, path])
    return Venv(path / "bin" / "python", uv())


@pytest.fixture(scope="module")
def producer(wheels: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Venv:
    venv = empty_venv(tmp_path_factory.mktemp("producer") / "venv")
    venv.install(wheels["contracts"])
    return venv


@pytest.fixture
def elsewhere(tmp_path: Path) -> Iterator[Path]:
    """A working directory outside the checkout, as another repository's CI has."""
    yield tmp_path


def test_the_contracts_wheel_installs_at_most_12_distributions(producer: Venv) -> None:
    installed = producer.distributions()
    assert len(installed) <= MOST_DISTRIBUTIONS, sorted(installed)
    assert {"contracts", "pydantic", "kombu"} <= set(installed)
    assert not NOT_FOR_PRODUCERS & set(installed), sorted(NOT_FOR_PRODUCERS & set(installed))


def test_the_wheel_ships_every_snapshot(wheels: dict[str, Path]) -> None:
    committed = ROOT / "libs" / "contracts" / "src" / "contracts" / "snapshots"
    expected = {
        f"contracts/snapshots/{p.relative_to(committed).as_posix()}"
        for p in committed.rglob("*.json")
    }
    assert any("/views/" in name for name in expected)
    with zipfile.ZipFile(wheels["contracts"]) as wheel:
        shipped = {name for name in wheel.namelist() if name.startswith("contracts/snapshots/")}
    assert shipped == expected


def test_the_guard_runs_from_the_installed_wheel(producer: Venv, elsewhere: Path) -> None:
    checked = producer.module(["contracts.compat", "--check"], elsewhere)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "site-packages" in checked.stdout and "compatible:" in checked.stdout

    # Another repository pins the snapshots it was built against, then checks against them.
    pinned = elsewhere / "pinned"
    recorded = producer.module(["contracts.compat", "--update", "--snapshots", pinned], elsewhere)
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    report = json.loads((pinned / "report.generate.json").read_text())
    report["payload"]["properties"]["relied_on"] = {"type": "string"}
    (pinned / "report.generate.json").write_text(json.dumps(report))
    broken = producer.module(["contracts.compat", "--check", "--snapshots", pinned], elsewhere)
    assert broken.returncode == 1
    assert "report.generate.payload.relied_on: field removed" in broken.stdout


def test_a_producer_sends_with_its_own_celery(producer: Venv, elsewhere: Path) -> None:
    # What the README's "another team's producer" does: contracts plus its own Celery.
    producer.install("celery>=5.7,<6")
    code = """
from celery import Celery
from contracts import SendEmail, dispatch, route_task
app = Celery("team", broker="memory://", set_as_current=False)
app.conf.task_routes = (route_task,)
sent = []
app.send_task = lambda name, **options: sent.append((name, options)) or type("R", (), {"id": "i"})
payload = SendEmail(to=["a@example.com"], subject="s", text="b")
assert dispatch(app, payload) == "i"
name, options = sent[0]
print(name, options["exchange"], options["queue"])
"""
    shown = producer.python_run(code, elsewhere).stdout.split()
    assert shown[0] == "email.send" and shown[1] == "email" and shown[2].startswith("email.")


@pytest.fixture(scope="module")
def runtime_alone(wheels: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Venv:
    venv = empty_venv(tmp_path_factory.mktemp("runtime") / "venv")
    venv.install(wheels["contracts"], wheels["runtime"])
    return venv


def test_the_runtime_without_extras_has_no_metrics_or_tracing_libraries(
    runtime_alone: Venv, elsewhere: Path
) -> None:
    installed = set(runtime_alone.distributions())
    assert {"runtime", "contracts", "celery", "sqlalchemy"} <= installed
    assert not {n for n in installed if n.startswith(("prometheus", "opentelemetry"))}
    modules = sorted(
        p.stem
        for p in (ROOT / "libs" / "runtime" / "src" / "switchyard_runtime").glob("*.py")
        if p.stem != "__init__"
    )
    imports = "; ".join(f"import switchyard_runtime.{module}" for module in modules)
    runtime_alone.python_run(
        imports + "; from switchyard_runtime import create_celery_app", elsewhere
    )


def test_without_the_metrics_extra_a_metrics_port_is_refused_by_name(
    runtime_alone: Venv, elsewhere: Path
) -> None:
    code = "from switchyard_runtime.settings import WorkerSettings; WorkerSettings()"
    assert runtime_alone.python_run(code, elsewhere).returncode == 0
    refused = runtime_alone.python_run(code, elsewhere, {"METRICS_PORT": "9464"}, check=False)
    assert refused.returncode == 1
    assert "metrics_port" in refused.stderr and "runtime[metrics]" in refused.stderr


def test_without_the_tracing_extra_an_endpoint_turns_tracing_off_with_a_warning(
    runtime_alone: Venv, elsewhere: Path
) -> None:
    code = (
        "from switchyard_runtime import logs, tracing\n"
        "logs.configure_logging('unit')\n"
        "assert tracing.configure_tracing('unit') is False\n"
        "assert tracing.configure_tracing('unit') is False\n"
    )
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}
    done = runtime_alone.python_run(code, elsewhere, env)
    said = done.stdout + done.stderr
    assert said.count("tracing off") == 1, said
    assert "runtime[tracing]" in said
