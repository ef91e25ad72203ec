"""The API's public behaviour around the happy path: errors, health, polling, docs."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.support.polling import wait_for_workflow

pytestmark = pytest.mark.e2e


def a_valid_email(**overrides: object) -> dict[str, object]:
    return {
        "to": ["ada@example.com"],
        "subject": f"s {uuid.uuid4().hex}",
        "text": "hi",
        **overrides,
    }


def test_healthz_and_readyz_answer_when_everything_is_up(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {
        "broker": "ok",
        "database": "ok",
        "outbox": "ok",
        "relay": "ok",
    }


def test_openapi_and_docs_are_served(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    assert "/v1/emails" in spec["paths"]
    assert "/v1/workflows/{workflow_id}" in spec["paths"]
    assert client.get("/docs").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subject": "no recipients", "text": "x"}, "to"),
        (a_valid_email(to=[]), "to"),
        (a_valid_email(to=[f"u{i}@example.com" for i in range(51)]), "to"),
        (a_valid_email(to=["not-an-address"]), "to"),
        (a_valid_email(subject=""), "subject"),
        (a_valid_email(subject="x" * 999), "subject"),
        (a_valid_email(lane="express"), "lane"),
        (a_valid_email(unexpected="field"), "unexpected"),
    ],
)
def test_an_invalid_email_is_refused_with_the_field_named(
    client: httpx.Client, body: dict[str, object], field: str
) -> None:
    response = client.post("/v1/emails", json=body)
    assert response.status_code == 422, response.text
    locations = [error["loc"] for error in response.json()["detail"]]
    assert any(field in location for location in locations), locations


def test_an_email_without_text_or_html_is_refused(client: httpx.Client) -> None:
    response = client.post("/v1/emails", json={"to": ["a@example.com"], "subject": "empty"})
    assert response.status_code == 422
    assert "text" in response.text and "html" in response.text


def test_a_body_that_is_not_json_is_a_422_not_a_500(client: httpx.Client) -> None:
    response = client.post(
        "/v1/emails", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


def test_a_body_over_one_mebibyte_is_refused_with_413(client: httpx.Client) -> None:
    body = a_valid_email(text="x" * (1024 * 1024 + 1))
    response = client.post("/v1/emails", json=body)
    assert response.status_code == 413


def test_an_unknown_or_malformed_workflow_id_is_404_never_a_made_up_pending(
    client: httpx.Client,
) -> None:
    assert client.get(f"/v1/workflows/{uuid.uuid4()}").status_code == 404
    assert client.get("/v1/workflows/not-a-uuid").status_code == 404


def test_a_finished_document_answers_304_to_its_etag_and_drops_retry_after(
    client: httpx.Client,
) -> None:
    accepted = client.post("/v1/emails", json=a_valid_email()).json()
    document = wait_for_workflow(client, accepted["workflow_id"])
    response = client.get(accepted["status_url"])
    assert response.json() == document
    assert "Retry-After" not in response.headers
    tag = response.headers["ETag"]
    unchanged = client.get(accepted["status_url"], headers={"If-None-Match": tag})
    assert unchanged.status_code == 304
    assert unchanged.headers["ETag"] == tag


def test_a_long_poll_returns_as_soon_as_the_document_changes(client: httpx.Client) -> None:
    accepted = client.post("/v1/emails", json=a_valid_email()).json()
    first = client.get(accepted["status_url"])
    assert first.status_code == 200
    assert first.json()["created_at"].endswith(("+00:00", "Z"))
    changed = client.get(
        accepted["status_url"],
        params={"wait": 30},
        headers={"If-None-Match": first.headers["ETag"]},
    )
    assert changed.status_code == 200
    assert changed.headers["ETag"] != first.headers["ETag"]


def test_wait_beyond_thirty_seconds_is_refused(client: httpx.Client) -> None:
    response = client.get(f"/v1/workflows/{uuid.uuid4()}", params={"wait": 31})
    assert response.status_code == 422
