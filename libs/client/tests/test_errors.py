"""An error answer becomes an ApiError carrying the API's own words."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest

from switchyard_client import ApiError, expect
from switchyard_client.errors import describe
from switchyard_client.generated.models import Accepted
from switchyard_client.generated.types import Response

ACCEPTED = {"workflow_id": "w1", "status_url": "/v1/workflows/w1"}


def answer(status: int, body: object, parsed: object = None) -> Response[object]:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Response(status_code=HTTPStatus(status), content=content, headers={}, parsed=parsed)


def test_an_error_body_is_its_detail() -> None:
    assert describe(b'{"detail": "workflow not found"}') == "workflow not found"


def test_validation_errors_name_each_field() -> None:
    body = {
        "detail": [
            {"loc": ["body", "to", 0], "msg": "value is not a valid email address", "type": "x"},
            {"loc": ["body", "subject"], "msg": "Field required", "type": "missing"},
        ]
    }
    assert describe(json.dumps(body).encode()) == (
        "body.to.0: value is not a valid email address; body.subject: Field required"
    )


def test_a_body_without_a_detail_falls_back_to_the_status() -> None:
    with pytest.raises(ApiError) as raised:
        expect(answer(502, b"<html>bad gateway</html>"), Accepted.from_dict)
    assert (raised.value.status, raised.value.detail) == (502, "Bad Gateway")


def test_a_refusal_raises_with_its_status_and_detail() -> None:
    with pytest.raises(ApiError, match=r"^invalid API key \(HTTP 401\)$"):
        expect(answer(401, {"detail": "invalid API key"}), Accepted.from_dict)


def test_a_replayed_submission_is_parsed_although_undescribed() -> None:
    # A 200 replay has no schema in the description: the generated code leaves it unparsed.
    accepted = expect(answer(200, ACCEPTED, parsed=None), Accepted.from_dict)
    assert (accepted.workflow_id, accepted.status_url) == ("w1", "/v1/workflows/w1")
