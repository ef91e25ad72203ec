"""A subject or a display name that would break a mail header is a 422 naming the field."""

from __future__ import annotations

import uuid

import httpx
import pytest

pytestmark = pytest.mark.e2e

#: Without an Idempotency-Key the fast path in front of FastAPI reads the submission;
#: with one, FastAPI's route does. Both must refuse it the same way.
PATHS = {"fast path": False, "FastAPI route": True}


def an_email(**overrides: object) -> dict[str, object]:
    subject = f"s {uuid.uuid4().hex}"
    return {"to": ["ada@example.com"], "subject": subject, "text": "hi", **overrides}


@pytest.mark.parametrize("idempotent", PATHS.values(), ids=PATHS.keys())
@pytest.mark.parametrize(
    ("overrides", "location"),
    [
        ({"subject": "Invoice\u2028Bcc: eve@example.com"}, ["body", "subject"]),
        ({"to": ["Ada\u2028Bcc: eve@example.com <ada@example.com>"]}, ["body", "to", 0]),
        ({"cc": ["grace@example.com", "Eve\u2029 <eve@example.com>"]}, ["body", "cc", 1]),
    ],
    ids=["subject", "to display name", "cc display name"],
)
def test_a_line_separator_in_a_header_value_is_refused_naming_the_field(
    client: httpx.Client,
    idempotent: bool,
    overrides: dict[str, object],
    location: list[object],
) -> None:
    headers = {"Idempotency-Key": str(uuid.uuid4())} if idempotent else {}
    response = client.post("/v1/emails", json=an_email(**overrides), headers=headers)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == location
    assert "line separator" in error["msg"]


def test_a_tab_in_a_subject_is_accepted(client: httpx.Client) -> None:
    response = client.post("/v1/emails", json=an_email(subject="Monthly\treport"))
    assert response.status_code == 202, response.text
