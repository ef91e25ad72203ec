"""The one Dockerfile, checked as data and its ``uv sync`` steps run as a build runs them.

This machine has no Docker engine: the build stage's two steps run here instead, each in
a directory that holds just what the build gives it (the bind mounts of the dependency
step, then what the ``COPY`` lines copy), so a file the lock or a service needs and the
Dockerfile does not give it fails here as it would fail ``docker build``.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.deploy.compose import ROOT

DOCKERFILE = ROOT / "Dockerfile"
SERVICES = sorted(p.parent.name for p in (ROOT / "services").glob("*/pyproject.toml"))


def instructions() -> list[tuple[str, str]]:
    """(instruction, arguments) of each line, continuations joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = (line.strip() for line in joined.splitlines())
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def build_stage() -> list[tuple[str, str]]:
    """The instructions of the stage that installs the service (``AS build``)."""
    stage: list[tuple[str, str]] = []
    inside = False
    for instruction, arguments in instructions():
        if instruction == "FROM":
            inside = arguments.endswith(" AS build")
        elif inside:
            stage.append((instruction, arguments))
    return stage


def python_floor() -> tuple[int, int]:
    """The lowest Python any workspace package accepts (``requires-python``)."""
    floors = set()
    for pyproject in ROOT.glob("*/*/pyproject.toml"):
        spec = tomllib.loads(pyproject.read_text())["project"]["requires-python"]
        match = re.fullmatch(r">=\s*(\d+)\.(\d+)", spec)
        assert match, f"{pyproject}: requires-python {spec!r} is not a floor"
        floors.add((int(match[1]), int(match[2])))
    assert len(floors) == 1, f"the packages disagree on their Python: {floors}"
    return floors.pop()


def test_the_images_run_the_python_the_tests_run_on() -> None:
    (base,) = {args for name, args in instructions() if name == "ARG" and "PYTHON=" in args}
    major, minor = python_floor()
    assert base == f"PYTHON=python:{major}.{minor}-slim"
    assert sys.version_info[:2] == (major, minor), "the tests run on another Python"
    froms = [args for name, args in instructions() if name == "FROM"]
    assert froms[1:] == ["${PYTHON} AS build", "${PYTHON}"]


def test_it_installs_only_the_named_service_from_the_lock_as_non_root() -> None:
    text = DOCKERFILE.read_text()
    assert "--mount=type=bind,source=uv.lock,target=uv.lock" in text
    assert "uv sync --frozen --no-dev --no-install-workspace --package ${SERVICE}" in text
    assert "uv sync --frozen --no-dev --no-editable --package ${SERVICE}" in text
    assert re.search(r"^USER app$", text, re.MULTILINE)
    assert "ENV PATH=/app/.venv/bin:$PATH" in text
    assert ("ARG", "SERVICE") in build_stage()


def stage_files(arguments: str, into: Path, service: str) -> list[Path]:
    """Copy what a ``RUN``'s bind mounts give it into ``into``; the paths made."""
    made = []
    for source, target in re.findall(r"--mount=type=bind,source=(\S+),target=(\S+)", arguments):
        source, target = (p.replace("${SERVICE}", service) for p in (source, target))
        (into / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / source, into / target)
        made.append(into / target)
    return made


def copy(arguments: str, into: Path, service: str) -> None:
    """What a ``COPY`` of the repository's files adds (its caches and tests ignored, as
    ``.dockerignore`` has them)."""
    *sources, target = (p.replace("${SERVICE}", service) for p in shlex.split(arguments))
    for source in sources:
        to = into / target / Path(source).name if target.endswith("/") else into / target
        to.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / source).is_dir():
            ignored = shutil.ignore_patterns("__pycache__", "tests")
            shutil.copytree(ROOT / source, to, ignore=ignored, dirs_exist_ok=True)
        else:
            shutil.copy(ROOT / source, to)


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_builds_from_it_alone(service: str, tmp_path: Path) -> None:
    """The build stage's steps, run here on the tests' Python from uv's cache: the
    service's console script is installed (the image's command) and no other service."""
    uv = shutil.which("uv")
    assert uv, "uv is not on PATH (the README's .tools/bin, or pip install uv)"
    ours = ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")  # the workspace's, not the build's
    env = {k: v for k, v in os.environ.items() if k not in ours}
    env |= {
        "SERVICE": service,
        "UV_OFFLINE": "1",  # what the workspace environment installed is in the cache
        "UV_PYTHON": sys.executable,
        "UV_PYTHON_DOWNLOADS": "never",
        "PATH": f"{Path(uv).parent}{os.pathsep}{env['PATH']}",
    }
    runs = 0
    for instruction, arguments in build_stage():
        if instruction == "COPY" and not arguments.startswith("--from"):
            copy(arguments, tmp_path, service)
        elif instruction == "RUN" and "uv sync" in arguments:
            mounted = stage_files(arguments, tmp_path, service)
            command = re.sub(r"--mount=\S+\s*", "", arguments)
            done = subprocess.run(
                ["sh", "-ec", command], cwd=tmp_path, env=env, capture_output=True, text=True
            )
            assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
            for path in mounted:  # a bind mount is gone once its step is done
                path.unlink()
            runs += 1
    assert runs == 2
    bin_dir = tmp_path / ".venv" / "bin"
    assert (bin_dir / "switchyard-service").resolve() == (bin_dir / service).resolve()
    assert (bin_dir / service).is_file()
    installed = {p.name for p in bin_dir.iterdir()}
    assert not (set(SERVICES) - {service}) & installed, "another service is installed"
    package = service.replace("-", "_")
    probe = subprocess.run(
        [str(bin_dir / "python"), "-c", f"import {package}.cli, sys; print(sys.version_info[:2])"],
        cwd="/",
        capture_output=True,
        text=True,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == str(sys.version_info[:2])
