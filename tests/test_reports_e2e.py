"""Report workflows across services: one report, a chain, a group and a chord."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import System, api_client
from tests.support.polling import eventually, wait_for_workflow
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.e2e

TODAY = datetime.now(UTC).date()
THIS_MONTH = {"start": (TODAY - timedelta(days=30)).isoformat(), "end": TODAY.isoformat()}


def recipient() -> str:
    return f"reports-{uuid.uuid4().hex[:10]}@example.com"


@pytest.fixture(scope="module")
def some_deliveries(client_module: httpx.Client, smtp_sink: SmtpSink) -> int:
    """A few delivered emails, so that email_activity has something to count."""
    ids = [
        client_module.post(
            "/v1/emails",
            json={"to": ["a@example.com"], "subject": f"seed {i}", "text": "x", "lane": lane},
        ).json()["workflow_id"]
        for i, lane in enumerate(["transactional", "bulk", "transactional"])
    ]
    for workflow_id in ids:
        assert wait_for_workflow(client_module, workflow_id)["status"] == "succeeded"
    return len(ids)


@pytest.fixture(scope="module")
def client_module(system: System) -> Any:
    with api_client(system) as http:
        yield http


def csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode())))


def attachments_of(message: Any) -> list[tuple[str, str, bytes]]:
    return [
        (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
        for part in message.iter_attachments()
    ]


def test_a_report_is_built_from_the_systems_data_and_can_be_downloaded(
    client: httpx.Client, some_deliveries: int
) -> None:
    response = client.post(
        "/v1/reports", json={"kind": "email_activity", "period": THIS_MONTH, "format": "csv"}
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    [report_id] = accepted["report_ids"]
    document = wait_for_workflow(client, accepted["workflow_id"])
    assert document["status"] == "succeeded", document
    assert document["kind"] == "report"
    [step] = document["steps"]
    assert step["name"] == "report.generate"
    result = step["result"]
    assert result["report_id"] == report_id
    assert result["content_type"].startswith("text/csv")

    metadata = client.get(f"/v1/reports/{report_id}").json()
    assert metadata["rows"] == result["rows"]
    assert metadata["bytes"] == result["bytes"]
    assert metadata["period"] == THIS_MONTH
    content = client.get(metadata["content_url"])
    assert content.status_code == 200
    assert content.headers["content-type"].startswith("text/csv")
    assert f'filename="{metadata["filename"]}"' in content.headers["content-disposition"]
    assert hashlib.sha256(content.content).hexdigest() == result["sha256"]
    rows = csv_rows(content.content)
    assert len(rows) == result["rows"]
    assert list(rows[0]) == ["day", "lane", "outcome", "deliveries", "recipients"]
    sent_today = [r for r in rows if r["day"] == TODAY.isoformat() and r["outcome"] == "sent"]
    assert {r["lane"] for r in sent_today} == {"transactional", "bulk"}
    assert sum(int(r["deliveries"]) for r in sent_today) >= some_deliveries


@pytest.mark.parametrize("fmt", ["json", "html"])
def test_json_and_html_reports(client: httpx.Client, some_deliveries: int, fmt: str) -> None:
    accepted = client.post(
        "/v1/reports", json={"kind": "workflow_summary", "period": THIS_MONTH, "format": fmt}
    ).json()
    document = wait_for_workflow(client, accepted["workflow_id"])
    assert document["status"] == "succeeded", document
    content = client.get(f"/v1/reports/{accepted['report_ids'][0]}/content")
    if fmt == "json":
        body = json.loads(content.content)
        assert body["columns"][:3] == ["kind", "status", "workflows"]
        kinds = {(row["kind"], row["status"]) for row in body["rows"]}
        assert ("email", "succeeded") in kinds
        assert len(body["rows"]) == document["result"]["rows"]
    else:
        page = content.text
        assert content.headers["content-type"].startswith("text/html")
        assert page.index("<svg") < page.index("<table")
        assert "<td>email</td><td>succeeded</td>" in page


def test_a_chain_delivers_one_email_carrying_the_csv_report(
    client: httpx.Client, smtp_sink: SmtpSink, some_deliveries: int
) -> None:
    to = recipient()
    accepted = client.post(
        "/v1/reports",
        json={"kind": "email_activity", "period": THIS_MONTH, "format": "csv", "deliver_to": [to]},
    ).json()
    document = wait_for_workflow(client, accepted["workflow_id"])
    assert document["status"] == "succeeded", document
    assert [s["name"] for s in document["steps"]] == ["report.generate", "email.send"]
    report, email = document["steps"]
    assert email["started_at"] >= report["finished_at"]
    [message] = smtp_sink.mailbox.wait_for_recipient(to)
    [(filename, content_type, payload)] = attachments_of(message.message)
    assert content_type == "text/csv"
    assert filename.endswith(".csv")
    assert len(csv_rows(payload)) == report["result"]["rows"]
    assert hashlib.sha256(payload).hexdigest() == report["result"]["sha256"]


def test_a_group_builds_reports_side_by_side(client: httpx.Client) -> None:
    specs = [
        {"kind": "email_activity", "period": THIS_MONTH, "format": "csv"},
        {"kind": "workflow_summary", "period": THIS_MONTH, "format": "json"},
    ]
    accepted = client.post("/v1/report-batches", json={"reports": specs}).json()
    document = wait_for_workflow(client, accepted["workflow_id"])
    assert document["status"] == "succeeded", document
    assert document["kind"] == "report_batch"
    assert [s["result"]["report_id"] for s in document["steps"]] == accepted["report_ids"]
    assert [r["report_id"] for r in document["result"]] == accepted["report_ids"]
    assert document["progress"] == {"completed": 2, "total": 2}


def test_a_chord_sends_one_digest_after_all_three_reports_succeeded(
    client: httpx.Client, smtp_sink: SmtpSink, system: System, some_deliveries: int
) -> None:
    to = recipient()
    specs = [
        {"kind": "email_activity", "period": THIS_MONTH, "format": "csv"},
        {"kind": "workflow_summary", "period": THIS_MONTH, "format": "json"},
        {"kind": "email_activity", "period": THIS_MONTH, "format": "html"},
    ]
    accepted = client.post("/v1/report-batches", json={"reports": specs, "deliver_to": [to]}).json()
    document = wait_for_workflow(client, accepted["workflow_id"])
    assert document["status"] == "succeeded", document
    *reports, digest = document["steps"]
    assert [s["name"] for s in reports] == ["report.generate"] * 3
    assert digest["name"] == "email.send"
    assert digest["started_at"] >= max(r["finished_at"] for r in reports)

    messages = smtp_sink.mailbox.wait_for_recipient(to)
    assert len(messages) == 1
    attached = attachments_of(messages[0].message)
    assert sorted(content_type for _, content_type, _ in attached) == [
        "application/json",
        "text/csv",
        "text/html",
    ]
    digests = {hashlib.sha256(payload).hexdigest() for _, _, payload in attached}
    assert digests == {r["result"]["sha256"] for r in reports}
    # The callback was released by celery.chord_unlock, consumed from the callback's queue.
    assert "celery.chord_unlock" in system.email_worker.logs()


def test_a_chord_whose_reports_outlast_the_first_unlock_poll_still_sends_its_digest(
    client: httpx.Client, smtp_sink: SmtpSink, system: System
) -> None:
    """``celery.chord_unlock`` polls the header a second after the chord went out and
    retries itself while it is not done. Each retry is routed again by name, so it has to
    reach the callback's queue like the first poll (through the delayed-delivery
    exchanges): here the report worker takes nothing for the first few polls."""
    to = recipient()
    spec = {"kind": "email_activity", "period": THIS_MONTH, "format": "csv"}
    with system.report_worker.paused():
        accepted = client.post(
            "/v1/report-batches", json={"reports": [spec, spec], "deliver_to": [to]}
        ).json()
        unlock = f'"workflow_id": "{accepted["workflow_id"]}"'
        eventually(
            lambda: any(
                unlock in line and "celery.chord_unlock" in line and "retry: Retry in" in line
                for line in system.email_worker.logs().splitlines()
            ),
            timeout=30,
        )
    document = wait_for_workflow(client, accepted["workflow_id"])
    assert document["status"] == "succeeded", document
    assert [s["name"] for s in document["steps"]] == ["report.generate"] * 2 + ["email.send"]
    assert len(smtp_sink.mailbox.wait_for_recipient(to)) == 1


def test_a_failing_step_fails_the_workflow_and_the_chain_never_emails(
    client: httpx.Client, smtp_sink: SmtpSink
) -> None:
    to = recipient()
    future = {
        "start": (TODAY + timedelta(days=10)).isoformat(),
        "end": (TODAY + timedelta(days=20)).isoformat(),
    }
    accepted = client.post(
        "/v1/reports",
        json={"kind": "email_activity", "period": future, "deliver_to": [to]},
    ).json()
    document = wait_for_workflow(client, accepted["workflow_id"])
    assert document["status"] == "failed", document
    report, email = document["steps"]
    assert report["status"] == "failed"
    assert report["error"]["type"] == "ReportRejected"
    assert "after today" in report["error"]["message"]
    assert document["error"] == report["error"]
    assert email["status"] == "cancelled"
    assert email["attempts"] == 0
    assert document["finished_at"] is not None
    assert smtp_sink.mailbox.wait_for_recipient(to, timeout=3) == []


def test_cancel_before_the_email_step_starts_sends_nothing(
    client: httpx.Client, smtp_sink: SmtpSink
) -> None:
    to = recipient()
    accepted = client.post(
        "/v1/reports",
        json={"kind": "workflow_summary", "period": THIS_MONTH, "deliver_to": [to]},
    ).json()
    cancelled = client.post(f"/v1/workflows/{accepted['workflow_id']}/cancel")
    assert cancelled.status_code == 202, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    document = wait_for_workflow(client, accepted["workflow_id"])
    assert document["status"] == "cancelled"
    assert document["steps"][1]["status"] == "cancelled"
    assert smtp_sink.mailbox.wait_for_recipient(to, timeout=5) == []
    again = client.post(f"/v1/workflows/{accepted['workflow_id']}/cancel")
    assert again.status_code == 409


def test_cancel_of_a_finished_or_unknown_workflow(client: httpx.Client) -> None:
    accepted = client.post(
        "/v1/reports", json={"kind": "email_activity", "period": THIS_MONTH}
    ).json()
    assert wait_for_workflow(client, accepted["workflow_id"])["status"] == "succeeded"
    finished = client.post(f"/v1/workflows/{accepted['workflow_id']}/cancel")
    assert finished.status_code == 409
    assert client.post(f"/v1/workflows/{uuid.uuid4()}/cancel").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "nonsense", "period": THIS_MONTH}, "kind"),
        (
            {"kind": "email_activity", "period": {"start": "2026-02-01", "end": "2026-01-01"}},
            "period",
        ),
        (
            {"kind": "email_activity", "period": {"start": "2024-01-01", "end": "2025-12-31"}},
            "period",
        ),
        ({"kind": "email_activity", "period": THIS_MONTH, "format": "pdf"}, "format"),
        ({"kind": "email_activity", "period": THIS_MONTH, "deliver_to": ["nope"]}, "deliver_to"),
        ({"kind": "email_activity", "period": THIS_MONTH, "deliver_to": []}, "deliver_to"),
    ],
)
def test_an_invalid_report_request_names_the_field(
    client: httpx.Client, body: dict[str, Any], field: str
) -> None:
    response = client.post("/v1/reports", json=body)
    assert response.status_code == 422, response.text
    assert any(field in error["loc"] for error in response.json()["detail"])


def test_a_batch_holds_one_to_twenty_reports(client: httpx.Client) -> None:
    spec = {"kind": "email_activity", "period": THIS_MONTH}
    assert client.post("/v1/report-batches", json={"reports": []}).status_code == 422
    assert client.post("/v1/report-batches", json={"reports": [spec] * 21}).status_code == 422


def test_an_unknown_report_is_404(client: httpx.Client) -> None:
    assert client.get(f"/v1/reports/{uuid.uuid4()}").status_code == 404
    assert client.get(f"/v1/reports/{uuid.uuid4()}/content").status_code == 404
    assert client.get("/v1/reports/not-an-id").status_code == 404


def test_workflows_are_listed_newest_first_with_a_stable_cursor(client: httpx.Client) -> None:
    kind_filter: dict[str, str | int] = {"kind": "report", "limit": 2}
    ids = [
        client.post("/v1/reports", json={"kind": "email_activity", "period": THIS_MONTH}).json()[
            "workflow_id"
        ]
        for _ in range(3)
    ]
    first = client.get("/v1/workflows", params=kind_filter).json()
    assert [item["id"] for item in first["items"]] == ids[::-1][:2]
    assert first["next_cursor"]
    # A workflow accepted between two pages does not shift the next page.
    client.post("/v1/reports", json={"kind": "email_activity", "period": THIS_MONTH})
    second = client.get(
        "/v1/workflows", params={**kind_filter, "cursor": first["next_cursor"]}
    ).json()
    assert second["items"][0]["id"] == ids[0]
    assert all(item["kind"] == "report" for item in first["items"] + second["items"])
    for workflow_id in ids:
        wait_for_workflow(client, workflow_id)
    succeeded = client.get("/v1/workflows", params={"status": "succeeded", "limit": 100}).json()
    assert all(item["status"] == "succeeded" for item in succeeded["items"])
    assert client.get("/v1/workflows", params={"limit": 101}).status_code == 422
    assert client.get("/v1/workflows", params={"cursor": "garbage"}).status_code == 422
    assert client.get("/v1/workflows", params={"status": "bogus"}).status_code == 422


def test_each_step_says_which_worker_ran_it(client: httpx.Client) -> None:
    accepted = client.post(
        "/v1/reports", json={"kind": "email_activity", "period": THIS_MONTH}
    ).json()
    document = wait_for_workflow(client, accepted["workflow_id"])
    [step] = document["steps"]
    assert step["worker"] and step["worker"].startswith("report-worker@")
    assert document["progress"] == {"completed": 1, "total": 1}
