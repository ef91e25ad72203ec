"""POST an email, poll its workflow, see it arrive once in a real SMTP sink."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.support.polling import wait_for_workflow
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.e2e


def unique_subject(label: str) -> str:
    return f"{label} {uuid.uuid4().hex[:8]}"


def test_an_accepted_email_is_delivered_once_and_its_workflow_succeeds(
    client: httpx.Client, smtp_sink: SmtpSink
) -> None:
    subject = unique_subject("welcome")
    response = client.post(
        "/v1/emails",
        json={
            "to": ["ada@example.com"],
            "cc": ["grace@example.com"],
            "bcc": ["audit@example.com"],
            "subject": subject,
            "text": "Hello Ada",
            "html": "<p>Hello <b>Ada</b></p>",
        },
    )
    assert response.status_code == 202, response.text
    body = response.json()
    workflow_id = body["workflow_id"]
    assert uuid.UUID(workflow_id)
    assert body["status_url"] == f"/v1/workflows/{workflow_id}"
    assert response.headers["Location"] == body["status_url"]

    document = wait_for_workflow(client, workflow_id)

    assert document["status"] == "succeeded", document
    assert document["kind"] == "email"
    assert document["progress"] == {"completed": 1, "total": 1}
    [step] = document["steps"]
    assert step["name"] == "email.send"
    assert step["status"] == "succeeded"
    assert step["attempts"] == 1
    assert step["started_at"] and step["finished_at"]
    assert step["started_at"] <= step["finished_at"]
    assert step["error"] is None
    assert sorted(step["result"]["accepted"]) == [
        "ada@example.com",
        "audit@example.com",
        "grace@example.com",
    ]
    assert document["result"] == step["result"]

    [received] = smtp_sink.mailbox.wait_for(subject)
    assert sorted(received.envelope_to) == [
        "ada@example.com",
        "audit@example.com",
        "grace@example.com",
    ]
    message = received.message
    assert message["To"] == "ada@example.com"
    assert message["Cc"] == "grace@example.com"
    assert message["Bcc"] is None, "Bcc must not travel in the headers"
    assert message["Message-ID"] == step["result"]["message_id"]
    assert message.get_content_type() == "multipart/alternative"
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    assert text_part is not None and text_part.get_content().strip() == "Hello Ada"
    assert html_part is not None and "<b>Ada</b>" in html_part.get_content()
    # Exactly once: nothing else with that subject arrives later either.
    assert len(smtp_sink.mailbox.wait_for(subject, count=2, timeout=2)) == 1


def test_a_bulk_email_travels_the_bulk_lane(client: httpx.Client, smtp_sink: SmtpSink) -> None:
    subject = unique_subject("newsletter")
    response = client.post(
        "/v1/emails",
        json={
            "to": ["list@example.com"],
            "subject": subject,
            "html": "<p>news</p>",
            "lane": "bulk",
        },
    )
    assert response.status_code == 202
    document = wait_for_workflow(client, response.json()["workflow_id"])
    assert document["status"] == "succeeded"
    [received] = smtp_sink.mailbox.wait_for(subject)
    assert received.message.get_content_type() == "text/html"


def test_a_transient_smtp_failure_is_retried(client: httpx.Client, smtp_sink: SmtpSink) -> None:
    subject = unique_subject("retry me")
    smtp_sink.mailbox.scripted_replies.append("451 4.3.0 try again later")
    response = client.post(
        "/v1/emails", json={"to": ["bob@example.com"], "subject": subject, "text": "x"}
    )
    document = wait_for_workflow(client, response.json()["workflow_id"])
    assert document["status"] == "succeeded", document
    [step] = document["steps"]
    assert step["attempts"] == 2
    assert len(smtp_sink.mailbox.wait_for(subject)) == 1


def test_a_permanent_smtp_failure_fails_at_once_with_the_reason(
    client: httpx.Client, smtp_sink: SmtpSink
) -> None:
    subject = unique_subject("rejected")
    smtp_sink.mailbox.scripted_replies.append("554 5.7.1 message refused")
    response = client.post(
        "/v1/emails", json={"to": ["carol@example.com"], "subject": subject, "text": "x"}
    )
    document = wait_for_workflow(client, response.json()["workflow_id"])
    assert document["status"] == "failed", document
    [step] = document["steps"]
    assert step["status"] == "failed"
    assert step["attempts"] == 1
    assert step["error"]["type"] == "PermanentDeliveryError"
    assert "554" in step["error"]["message"]
    assert document["error"] == step["error"]
    assert smtp_sink.mailbox.with_subject(subject) == []
