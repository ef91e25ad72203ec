"""Who may do what: API keys, tenants that cannot see each other, idempotent POSTs and
the per-key rate limit, against the running API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import System, api_client
from tests.support import processes
from tests.support.polling import wait_for_workflow
from tests.support.smtp_sink import SmtpSink, free_port

pytestmark = pytest.mark.e2e


def email(subject: str, to: str = "access@example.com") -> dict[str, object]:
    return {"to": [to], "subject": subject, "text": "hello"}


def subject(label: str) -> str:
    return f"{label} {uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def other_tenant(system: System) -> Iterator[httpx.Client]:
    """A client of another tenant, ``rivals``."""
    with api_client(system, processes.create_api_key(system.env, "rivals")) as http:
        yield http


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/emails"),
        ("POST", "/v1/reports"),
        ("POST", "/v1/report-batches"),
        ("GET", "/v1/workflows"),
        ("GET", f"/v1/workflows/{uuid.UUID(int=1)}"),
        ("POST", f"/v1/workflows/{uuid.UUID(int=1)}/cancel"),
        ("GET", f"/v1/reports/{uuid.UUID(int=1)}"),
    ],
)
@pytest.mark.parametrize(
    "authorization", [None, "Bearer swy_not-a-real-key", "Bearer", "Basic dXNlcjpwYXNz"]
)
def test_a_missing_or_invalid_key_is_401(
    system: System, method: str, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = httpx.request(
        method, system.api_url + path, headers=headers, json=email("x"), timeout=10
    )
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "key" in response.json()["detail"]


def test_health_and_docs_need_no_key(system: System) -> None:
    for path in ("/healthz", "/readyz", "/openapi.json"):
        assert httpx.get(system.api_url + path, timeout=10).status_code == 200, path


def test_another_tenants_workflow_is_404_like_an_unknown_one(
    client: httpx.Client, other_tenant: httpx.Client, smtp_sink: SmtpSink
) -> None:
    accepted = client.post("/v1/emails", json=email(subject("ours"))).json()
    workflow_id = accepted["workflow_id"]
    unknown = str(uuid.uuid4())

    for probe in (workflow_id, unknown):
        response = other_tenant.get(f"/v1/workflows/{probe}")
        assert response.status_code == 404
        assert response.json() == {"detail": "workflow not found"}
        assert other_tenant.post(f"/v1/workflows/{probe}/cancel").status_code == 404
    listed = other_tenant.get("/v1/workflows", params={"limit": 100}).json()["items"]
    assert workflow_id not in {item["id"] for item in listed}

    assert wait_for_workflow(client, workflow_id)["status"] == "succeeded"
    ours = client.get("/v1/workflows", params={"limit": 100}).json()["items"]
    assert workflow_id in {item["id"] for item in ours}


def test_another_tenants_report_is_404(client: httpx.Client, other_tenant: httpx.Client) -> None:
    period = {"start": "2026-01-01", "end": "2026-01-02"}
    accepted = client.post("/v1/reports", json={"kind": "email_activity", "period": period})
    assert accepted.status_code == 202, accepted.text
    assert wait_for_workflow(client, accepted.json()["workflow_id"])["status"] == "succeeded"
    [report_id] = accepted.json()["report_ids"]

    assert client.get(f"/v1/reports/{report_id}").status_code == 200
    assert other_tenant.get(f"/v1/reports/{report_id}").status_code == 404
    assert other_tenant.get(f"/v1/reports/{report_id}/content").status_code == 404


def test_keys_are_created_listed_and_revoked_with_the_admin_command(system: System) -> None:
    output = processes.run(
        ["api", "keys", "create", "--tenant", "acme", "--name", "ci robot"], system.env
    )
    key = output.strip().splitlines()[-1]
    assert key.startswith("swy_") and " " not in key
    key_id = output.split("created key ", 1)[1].split()[0]

    with api_client(system, key) as acme:
        assert acme.get("/v1/workflows").status_code == 200
        listing = processes.run(["api", "keys", "list", "--tenant", "acme"], system.env)
        [line] = [line for line in listing.splitlines() if line.startswith(key_id)]
        assert "acme" in line and "active" in line and "ci robot" in line
        assert key not in listing, "the key itself is never shown again"

        assert "revoked" in processes.run(["api", "keys", "revoke", key_id], system.env)
        response = acme.get("/v1/workflows")
        assert response.status_code == 401
        listing = processes.run(["api", "keys", "list", "--tenant", "acme"], system.env)
        assert "revoked" in next(line for line in listing.splitlines() if key_id in line)


def test_the_admin_command_refuses_a_bad_tenant_and_an_unknown_key(system: System) -> None:
    with pytest.raises(RuntimeError, match="tenant"):
        processes.run(["api", "keys", "create", "--tenant", "Bad Tenant!"], system.env)
    with pytest.raises(RuntimeError, match="no active key"):
        processes.run(["api", "keys", "revoke", str(uuid.uuid4())], system.env)


def test_the_same_idempotency_key_and_body_answer_the_first_workflow(
    client: httpx.Client, smtp_sink: SmtpSink
) -> None:
    body = email(subject("idempotent"))
    headers = {"Idempotency-Key": f"order-{uuid.uuid4()}"}
    first = client.post("/v1/emails", json=body, headers=headers)
    again = client.post("/v1/emails", json=body, headers=headers)

    assert first.status_code == 202, first.text
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    assert wait_for_workflow(client, first.json()["workflow_id"])["status"] == "succeeded"
    assert len(smtp_sink.mailbox.wait_for(str(body["subject"]), count=2, timeout=2)) == 1


def test_the_same_idempotency_key_with_another_body_is_409(client: httpx.Client) -> None:
    headers = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    assert client.post("/v1/emails", json=email(subject("a")), headers=headers).status_code == 202
    conflict = client.post("/v1/emails", json=email(subject("b")), headers=headers)
    assert conflict.status_code == 409
    assert "Idempotency-Key" in conflict.json()["detail"]
    period = {"start": "2026-01-01", "end": "2026-01-02"}
    other_endpoint = client.post(
        "/v1/reports", json={"kind": "email_activity", "period": period}, headers=headers
    )
    assert other_endpoint.status_code == 409


def test_idempotency_keys_belong_to_one_tenant(
    client: httpx.Client, other_tenant: httpx.Client
) -> None:
    headers = {"Idempotency-Key": f"shared-{uuid.uuid4()}"}
    body = email(subject("tenant"))
    ours = client.post("/v1/emails", json=body, headers=headers)
    theirs = other_tenant.post("/v1/emails", json=body, headers=headers)
    assert ours.status_code == theirs.status_code == 202
    assert ours.json()["workflow_id"] != theirs.json()["workflow_id"]


def test_concurrent_requests_with_one_idempotency_key_make_one_workflow(
    client: httpx.Client, smtp_sink: SmtpSink
) -> None:
    body = email(subject("race"))
    headers = {"Idempotency-Key": f"race-{uuid.uuid4()}"}
    with ThreadPoolExecutor(8) as pool:
        responses = list(
            pool.map(lambda _: client.post("/v1/emails", json=body, headers=headers), range(8))
        )
    assert sorted(r.status_code for r in responses) == [200] * 7 + [202]
    assert len({r.json()["workflow_id"] for r in responses}) == 1
    assert len(smtp_sink.mailbox.wait_for(str(body["subject"]), count=2, timeout=3)) == 1


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_a_bad_idempotency_key_is_422_naming_the_header(client: httpx.Client, key: str) -> None:
    response = client.post(
        "/v1/emails", json=email(subject("bad")), headers={"Idempotency-Key": key}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]


def test_past_its_rate_limit_a_key_gets_429_with_retry_after(
    system: System, tmp_path: Path
) -> None:
    port = free_port()
    env = {**system.env, "API_PORT": str(port), "RATE_LIMIT": "3/minute"}
    api = processes.start("api-limited", ["api"], env, tmp_path)
    try:
        url = f"http://127.0.0.1:{port}"
        processes.wait_until_ready(api, f"{url}/readyz")
        limited = processes.create_api_key(system.env, "limited")
        with httpx.Client(base_url=url, headers=processes.bearer(limited), timeout=10) as http:
            assert [http.get("/v1/workflows").status_code for _ in range(3)] == [200] * 3
            refused = http.get("/v1/workflows")
            assert refused.status_code == 429
            assert 1 <= int(refused.headers["Retry-After"]) <= 60
            assert "rate limit" in refused.json()["detail"]
        with httpx.Client(base_url=url, headers=processes.bearer(system.api_key)) as other:
            assert other.get("/v1/workflows").status_code == 200, "each key has its own limit"
    finally:
        api.stop()
