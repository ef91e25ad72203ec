"""Signed completion webhooks, end to end: a tenant registers an endpoint, a workflow
finishes, and a real HTTP receiver on loopback gets its final document, signed, verified
with the ``standardwebhooks`` package; failures are retried and listed, redirects are
not followed, a deleted endpoint gets nothing, other tenants see nothing, and a URL
reaching a private address is refused at registration.

The session's services run with ``WEBHOOK_ALLOW_PRIVATE=true`` (the receiver is on
loopback) and retries in seconds (``tests/conftest.py``); each test registers under a
tenant of its own, so its endpoint hears of its own workflows only.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from celery import Celery
from standardwebhooks.webhooks import Webhook

from contracts import signature
from contracts.webhooks import DeliverWebhook
from tests.conftest import System, api_client
from tests.support import processes
from tests.support.polling import wait_for_workflow
from tests.support.smtp_sink import free_port
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e

HOST = "127.0.0.1"


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


@pytest.fixture
def tenant_client(system: System) -> Iterator[httpx.Client]:
    """A client of a tenant of this test's own."""
    key = processes.create_api_key(system.env, f"hooks-{uuid.uuid4().hex[:8]}")
    with api_client(system, key) as client:
        yield client


def register(client: httpx.Client, url: str) -> dict[str, Any]:
    created = client.post("/v1/webhooks", json={"url": url, "events": ["workflow.finished"]})
    assert created.status_code == 201, created.text
    return dict(created.json())


def finish_an_email(client: httpx.Client, subject: str) -> dict[str, Any]:
    accepted = client.post(
        "/v1/emails", json={"to": ["hooks@example.com"], "subject": subject, "text": "x"}
    )
    assert accepted.status_code == 202, accepted.text
    return wait_for_workflow(client, accepted.json()["workflow_id"])


def attempts(client: httpx.Client, endpoint_id: str) -> list[dict[str, Any]]:
    listed = client.get(f"/v1/webhooks/{endpoint_id}/deliveries")
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


def wait_for_attempts(
    client: httpx.Client, endpoint_id: str, settled: str, timeout: float = 30.0
) -> list[dict[str, Any]]:
    """The endpoint's attempts once its delivery is ``settled``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = attempts(client, endpoint_id)
        if items and items[0]["delivery_status"] == settled:
            return items
        time.sleep(0.2)
    raise AssertionError(f"delivery not {settled}: {attempts(client, endpoint_id)}")


def delivery_status(system: System, endpoint_id: str) -> list[str]:
    with psycopg.connect(system.env["DATABASE_URL"]) as conn:
        rows = conn.execute(
            "SELECT status FROM api.webhook_deliveries WHERE endpoint_id = %s",
            (uuid.UUID(endpoint_id),),
        ).fetchall()
    return [row[0] for row in rows]


def test_a_finished_workflow_is_posted_to_the_endpoint_signed_with_its_final_document(
    tenant_client: httpx.Client, receiver: Receiver
) -> None:
    path = f"/hooks/{uuid.uuid4().hex}"
    endpoint = register(tenant_client, receiver.url(path))
    assert endpoint["secret"].startswith("whsec_")
    assert endpoint["events"] == ["workflow.finished"]
    listed = tenant_client.get("/v1/webhooks").json()["items"]
    assert [item["id"] for item in listed] == [endpoint["id"]]
    assert "secret" not in listed[0] and listed[0]["url"] == receiver.url(path)

    document = finish_an_email(tenant_client, "webhook: finished")

    [request] = receiver.wait_for(path, 1)
    payload = Webhook(endpoint["secret"]).verify(request.body, request.headers)
    assert payload == {"type": "workflow.finished", "data": document}
    assert payload["data"] == tenant_client.get(f"/v1/workflows/{document['id']}").json()
    assert request.headers["content-type"] == "application/json"
    [attempt] = wait_for_attempts(tenant_client, endpoint["id"], "delivered")
    assert attempt["workflow_id"] == document["id"]
    assert attempt["webhook_id"] == request.headers["webhook-id"]
    assert (attempt["attempt"], attempt["status_code"], attempt["outcome"]) == (1, 200, "delivered")
    assert len(receiver.received(path)) == 1


def test_a_receiver_failing_twice_gets_three_attempts_all_listed(
    tenant_client: httpx.Client, receiver: Receiver
) -> None:
    path = f"/hooks/{uuid.uuid4().hex}"
    receiver.answer(path, 500, 500, 200)
    endpoint = register(tenant_client, receiver.url(path))

    document = finish_an_email(tenant_client, "webhook: retried")

    requests = receiver.wait_for(path, 3)
    secret = Webhook(endpoint["secret"])
    for request in requests:
        assert secret.verify(request.body, request.headers)["data"] == document
    # One delivery: the receiver can tell the three apart from three events.
    assert len({request.headers["webhook-id"] for request in requests}) == 1
    listed = wait_for_attempts(tenant_client, endpoint["id"], "delivered")
    assert [(a["attempt"], a["status_code"], a["outcome"]) for a in listed] == [
        (3, 200, "delivered"),
        (2, 500, "failed"),
        (1, 500, "failed"),
    ]
    assert [a["error"] for a in listed] == [None, "HTTP 500", "HTTP 500"]
    assert {a["webhook_id"] for a in listed} == {requests[0].headers["webhook-id"]}
    page = tenant_client.get(f"/v1/webhooks/{endpoint['id']}/deliveries", params={"limit": 2})
    rest = tenant_client.get(
        f"/v1/webhooks/{endpoint['id']}/deliveries", params={"cursor": page.json()["next_cursor"]}
    )
    assert [a["attempt"] for a in page.json()["items"] + rest.json()["items"]] == [3, 2, 1]
    assert len(receiver.received(path)) == 3


def test_a_redirect_is_not_followed_and_counts_as_a_failed_attempt(
    tenant_client: httpx.Client, receiver: Receiver
) -> None:
    path = f"/hooks/{uuid.uuid4().hex}"
    receiver.answer(path, 302)
    endpoint = register(tenant_client, receiver.url(path))

    finish_an_email(tenant_client, "webhook: redirected")

    # Retried until WEBHOOK_RETRY_FOR (6 s here) after the first attempt, then given up.
    listed = wait_for_attempts(tenant_client, endpoint["id"], "failed")
    assert len(listed) >= 2
    assert {(a["status_code"], a["outcome"]) for a in listed} == {(302, "failed")}
    assert "redirects are not followed" in listed[0]["error"]
    assert receiver.received(f"{path}/redirected") == []
    assert len(receiver.received(path)) == len(listed)


def test_a_deleted_endpoint_receives_nothing(
    system: System, tenant_client: httpx.Client, receiver: Receiver
) -> None:
    deleted_path, kept_path = f"/hooks/{uuid.uuid4().hex}", f"/hooks/{uuid.uuid4().hex}"
    deleted = register(tenant_client, receiver.url(deleted_path))
    kept = register(tenant_client, receiver.url(kept_path))
    assert tenant_client.delete(f"/v1/webhooks/{deleted['id']}").status_code == 204
    assert [item["id"] for item in tenant_client.get("/v1/webhooks").json()["items"]] == [
        kept["id"]
    ]
    assert tenant_client.delete(f"/v1/webhooks/{deleted['id']}").status_code == 404
    assert tenant_client.get(f"/v1/webhooks/{deleted['id']}/deliveries").status_code == 404

    finish_an_email(tenant_client, "webhook: deleted")

    receiver.wait_for(kept_path, 1)  # the same finish reached the endpoint that is left
    assert receiver.received(deleted_path) == []
    assert delivery_status(system, deleted["id"]) == []


def test_an_endpoint_deleted_while_its_delivery_is_retried_gets_no_more_attempts(
    system: System, tenant_client: httpx.Client, receiver: Receiver
) -> None:
    path = f"/hooks/{uuid.uuid4().hex}"
    receiver.answer(path, 503)
    endpoint = register(tenant_client, receiver.url(path))
    finish_an_email(tenant_client, "webhook: deleted while retried")
    receiver.wait_for(path, 1)

    assert tenant_client.delete(f"/v1/webhooks/{endpoint['id']}").status_code == 204
    deadline = time.monotonic() + 30
    while delivery_status(system, endpoint["id"]) != ["cancelled"]:
        assert time.monotonic() < deadline, delivery_status(system, endpoint["id"])
        time.sleep(0.2)
    sent = len(receiver.received(path))
    time.sleep(2)  # the next attempt would have come within a second
    assert len(receiver.received(path)) == sent


def test_another_tenant_can_neither_see_nor_delete_the_endpoint(
    system: System, tenant_client: httpx.Client, receiver: Receiver
) -> None:
    endpoint = register(tenant_client, receiver.url(f"/hooks/{uuid.uuid4().hex}"))
    other_key = processes.create_api_key(system.env, f"hooks-other-{uuid.uuid4().hex[:8]}")
    with api_client(system, other_key) as other:
        assert other.get("/v1/webhooks").json() == {"items": []}
        assert other.get(f"/v1/webhooks/{endpoint['id']}/deliveries").status_code == 404
        refused = other.delete(f"/v1/webhooks/{endpoint['id']}")
        assert refused.status_code == 404
        assert refused.json() == {"detail": "webhook endpoint not found"}
    assert [item["id"] for item in tenant_client.get("/v1/webhooks").json()["items"]] == [
        endpoint["id"]
    ]


def test_a_tenant_holds_at_most_20_endpoints(
    tenant_client: httpx.Client, receiver: Receiver
) -> None:
    made = [register(tenant_client, receiver.url(f"/hooks/cap/{n}")) for n in range(20)]
    refused = tenant_client.post("/v1/webhooks", json={"url": receiver.url("/hooks/cap/20")})
    assert refused.status_code == 409
    assert "20 webhook endpoints" in refused.json()["detail"]
    assert tenant_client.delete(f"/v1/webhooks/{made[0]['id']}").status_code == 204
    register(tenant_client, receiver.url("/hooks/cap/20"))
    assert len(tenant_client.get("/v1/webhooks").json()["items"]) == 20


def test_the_trigger_writes_the_message_the_planner_would(system: System) -> None:
    delivery_id = uuid.uuid4()
    with psycopg.connect(system.env["DATABASE_URL"]) as conn:
        row = conn.execute("SELECT api.webhook_message(%s)", (delivery_id,)).fetchone()
    assert row is not None
    planned = signature(Celery(), DeliverWebhook(delivery_id=delivery_id), task_id=str(delivery_id))
    assert row[0] == json.loads(json.dumps(dict(planned)))


@pytest.fixture(scope="module")
def public_only_api(
    system: System, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    """An API process of its own, as deployed: private addresses refused."""
    port = free_port()
    env = {
        **system.env,
        "API_HOST": HOST,
        "API_PORT": str(port),
        "API_WORKERS": "1",
        "WEBHOOK_ALLOW_PRIVATE": "false",
    }
    api = processes.start("api-public-only", ["api"], env, tmp_path_factory.mktemp("public-only"))
    try:
        processes.wait_until_ready(api, f"http://{HOST}:{port}/readyz")
        with api_client(system) as client:
            client.base_url = httpx.URL(f"http://{HOST}:{port}")
            yield client
    finally:
        api.process.kill()
        api.process.wait(10)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://[::1]/",
        "http://localhost/",
        "http://[::ffff:127.0.0.1]/",
        "ftp://example.com/",
        "https://user:password@example.com/",
    ],
)
def test_a_url_reaching_a_private_address_is_refused_naming_url(
    public_only_api: httpx.Client, receiver: Receiver, url: str
) -> None:
    refused = public_only_api.post(
        "/v1/webhooks",
        json={"url": url.format(port=receiver.port), "events": ["workflow.finished"]},
    )
    assert refused.status_code == 422, refused.text
    [problem] = refused.json()["detail"]
    assert problem["loc"] == ["body", "url"]
    assert public_only_api.get("/v1/webhooks").json() == {"items": []}
