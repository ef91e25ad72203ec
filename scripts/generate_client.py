"""``just client``: the API's OpenAPI description, and the typed client generated from it.

Writes ``libs/client/openapi.json`` (the description the API serves, built from
``create_app()`` without a server) and regenerates ``libs/client/src/switchyard_client/
generated/`` from it with openapi-python-client (its settings:
``libs/client/openapi-python-client.yaml``), formatted with the repository's ruff settings.
With ``--check`` it writes nothing and fails, naming ``just client``, when either differs
from what is committed.
"""

from __future__ import annotations

import argparse
import difflib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CLIENT = ROOT / "libs" / "client"
SPEC = CLIENT / "openapi.json"
CONFIG = CLIENT / "openapi-python-client.yaml"
GENERATED = CLIENT / "src" / "switchyard_client" / "generated"
#: The tools of the environment running this script (the workspace's, locked).
BIN = Path(sys.executable).parent
#: The generator's one expected warning: it cannot type the event stream (see CONFIG).
EXPECTED_WARNINGS = {"WARNING parsing GET /v1/workflows/{workflow_id}/events within workflows."}


def describe_api() -> str:
    """The API's OpenAPI description as JSON text, exactly as ``/openapi.json`` serves it."""
    from fastapi import FastAPI

    from api.main import create_app

    # create_app() wraps FastAPI in plain ASGI layers, each holding the next as ``app``.
    app: Any = create_app()
    while not isinstance(app, FastAPI):
        app = app.app
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n"


def generate(spec: Path, into: Path) -> None:
    """Generate the client package from ``spec`` into the new directory ``into``."""
    generator = subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            f"--path={spec}",
            "--meta=none",
            f"--output-path={into}",
            f"--config={CONFIG}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    said = generator.stdout + generator.stderr
    warnings = {line.strip() for line in said.splitlines() if line.startswith("WARNING")}
    if generator.returncode != 0 or warnings - EXPECTED_WARNINGS:
        raise SystemExit(f"openapi-python-client failed (exit {generator.returncode}):\n{said}")
    settings = f"--config={ROOT / 'pyproject.toml'}"
    for command in (["check", "--fix-only", "--unsafe-fixes"], ["format"]):
        subprocess.run([str(BIN / "ruff"), *command, "--quiet", settings, str(into)], check=True)


def texts(directory: Path) -> dict[str, str]:
    """Every file under ``directory`` by its relative path, caches left out."""
    return {
        path.relative_to(directory).as_posix(): path.read_text()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def tree(spec: Path, package: Path) -> dict[str, str]:
    """A description and a generated package, by the paths they have in the repository."""
    files = {SPEC.relative_to(ROOT).as_posix(): spec.read_text()} if spec.exists() else {}
    if package.exists():
        where = GENERATED.relative_to(ROOT).as_posix()
        files |= {f"{where}/{name}": text for name, text in texts(package).items()}
    return files


def stale(fresh: dict[str, str], committed: dict[str, str]) -> list[str]:
    """What differs between two trees of files, as a unified diff (empty when equal)."""
    lines: list[str] = []
    for name in sorted(fresh.keys() | committed.keys()):
        before, after = committed.get(name, ""), fresh.get(name, "")
        if before != after:
            lines += difflib.unified_diff(
                before.splitlines(), after.splitlines(), f"a/{name}", f"b/{name}", lineterm=""
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail when the committed files differ")
    check = parser.parse_args(argv).check
    with tempfile.TemporaryDirectory(prefix="switchyard-client.") as work:
        spec, package = Path(work) / "openapi.json", Path(work) / "generated"
        spec.write_text(describe_api())
        generate(spec, package)
        if check:
            diff = stale(tree(spec, package), tree(SPEC, GENERATED))
            if diff:
                print("\n".join(diff[:200]))
                print(
                    "\nThe committed client is stale: the API's OpenAPI description or the "
                    "generator changed. Run `just client` and commit the result.",
                    file=sys.stderr,
                )
                return 1
            print("the committed OpenAPI description and generated client are current")
            return 0
        shutil.copyfile(spec, SPEC)
        shutil.rmtree(GENERATED, ignore_errors=True)
        shutil.copytree(package, GENERATED)
    print(f"wrote {SPEC.relative_to(ROOT)} and {GENERATED.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
