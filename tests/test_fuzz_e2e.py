"""schemathesis against the running API's ``/openapi.json``, authenticated: whatever it
sends, no 5xx, and every answer matches the schema (status code, headers, body).

It runs as schemathesis's own command line, the way CI systems run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import System
from tests.support import processes

pytestmark = pytest.mark.e2e

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


def test_the_api_answers_any_input_within_its_schema(system: System, tmp_path: Path) -> None:
    # A key of its own, so the fuzzer's flood of work stays out of other tests' tenant.
    key = processes.create_api_key(system.env, "fuzz")
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            f"{system.api_url}/openapi.json",
            "--header",
            f"Authorization: Bearer {key}",
            "--checks",
            CHECKS,
            "--max-examples",
            "25",
            "--seed",
            "1",
            "--request-timeout",
            "40",
            "--report-dir",
            str(tmp_path),
        ],
        cwd=tmp_path,  # its example database stays out of the checkout
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    print(result.stdout[-6000:], result.stderr[-2000:])
    assert result.returncode == 0, result.stdout[-6000:]
    assert "No issues found" in result.stdout or " passed" in result.stdout
