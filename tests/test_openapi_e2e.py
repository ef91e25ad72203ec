"""The served OpenAPI description is one a client can be generated from: valid, with
operation ids that read as method names, examples, date-time formats and error bodies."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from tests.conftest import System

pytestmark = pytest.mark.e2e

ERRORS = {"401", "403", "404", "409", "413", "422", "429", "503"}


@pytest.fixture(scope="module")
def spec(system: System) -> dict[str, Any]:
    answer = httpx.get(f"{system.api_url}/openapi.json", timeout=30)
    assert answer.status_code == 200
    served: dict[str, Any] = answer.json()
    return served


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    ]


def schema_of(spec: dict[str, Any], ref: str) -> dict[str, Any]:
    found: dict[str, Any] = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return found


def test_the_description_is_valid_openapi(spec: dict[str, Any]) -> None:
    validate(spec)


def test_operation_ids_read_as_method_names(spec: dict[str, Any]) -> None:
    ids = {f"{method} {path}": op["operationId"] for method, path, op in operations(spec)}
    assert all(re.fullmatch(r"[a-z][a-z_]*", name) for name in ids.values()), ids
    assert len(set(ids.values())) == len(ids)
    assert ids["POST /v1/emails"] == "send_email"
    assert ids["GET /v1/workflows/{workflow_id}"] == "get_workflow"
    assert ids["GET /v1/workflows"] == "list_workflows"
    assert ids["POST /v1/workflows/{workflow_id}/cancel"] == "cancel_workflow"
    assert ids["POST /v1/reports"] == "create_report"
    assert ids["GET /v1/reports/{report_id}"] == "get_report"


def test_every_request_and_json_response_body_has_an_example(spec: dict[str, Any]) -> None:
    missing = []
    for method, path, op in operations(spec):
        bodies = [("request", op.get("requestBody", {}).get("content", {}))]
        bodies += [(code, answer.get("content", {})) for code, answer in op["responses"].items()]
        for where, content in bodies:
            media = content.get("application/json")
            if media is None or not media.get("schema"):
                continue
            schema = media["schema"]
            ref = schema.get("$ref")
            examples = media.get("example") or media.get("examples")
            if ref is not None:
                examples = examples or schema_of(spec, ref).get("examples")
            if schema.get("type") == "object" and not ref:
                examples = examples or schema.get("examples")
            if not examples and not (ref and ref.endswith("HTTPValidationError")):
                missing.append(f"{method} {path} {where}")
    assert missing == []


def test_errors_are_described_with_a_body_schema(spec: dict[str, Any]) -> None:
    for method, path, op in operations(spec):
        if not path.startswith("/v1/"):
            continue
        for code in ERRORS & set(op["responses"]):
            media = op["responses"][code].get("content", {}).get("application/json")
            assert media and "$ref" in media["schema"], f"{method} {path} {code}"
        assert {"401", "429", "503"} <= set(op["responses"]), f"{method} {path}"
    assert schema_of(spec, "ErrorBody")["required"] == ["detail"]


def test_moments_are_date_times(spec: dict[str, Any]) -> None:
    document = schema_of(spec, "WorkflowDocument")["properties"]
    assert document["created_at"]["format"] == "date-time"
    assert {"type": "string", "format": "date-time"} in document["finished_at"]["anyOf"]
    step = schema_of(spec, "Step")["properties"]
    assert {"type": "string", "format": "date-time"} in step["started_at"]["anyOf"]
