"""Scenario 7: RabbitMQ raises a memory alarm mid-traffic, then clears it.

A broker in a memory alarm takes connections but blocks every connection that publishes
(``connection.blocked``), so a probe that only connects sees nothing wrong. The API keeps
answering 202 (the outbox holds the work), ``/readyz`` turns 503 within 10 s because the
relay says the broker blocks it, and once the alarm clears every workflow accepted
meanwhile is delivered exactly once.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.faults.conftest import (
    Counts,
    Stack,
    email,
    outbox_size,
    subjects,
    wait_until,
    wait_until_final,
)
from tests.support.prometheus import samples, value
from tests.support.smtp_sink import free_port

pytestmark = pytest.mark.e2e

#: The bound the issue states: /readyz says 503 this soon after the alarm is raised.
UNREADY_WITHIN = 10.0
BEFORE = 10
#: Submitted once /readyz said 503, while the alarm still holds.
AFTER = 40


def test_a_memory_alarm_holds_publishing_but_not_submissions_and_loses_nothing(
    stack: Stack, report: list[Counts]
) -> None:
    counts = Counts("7 RabbitMQ memory alarm mid-traffic")
    report.append(counts)
    stack.start("email-worker")
    metrics_url = f"http://127.0.0.1:{free_port()}/metrics"
    stack.env["METRICS_PORT"] = metrics_url.split(":")[-1].split("/")[0]
    stack.start("api")
    wanted = iter(subjects("memory-alarm", BEFORE + AFTER + 200))
    accepted: dict[str, str] = {}
    refused: list[str] = []

    def submit(client: httpx.Client) -> None:
        subject = next(wanted)
        response = client.post("/v1/emails", json=email(subject))
        if response.status_code == 202:
            accepted[subject] = response.json()["workflow_id"]
        else:
            refused.append(f"{response.status_code}: {response.text}")

    with stack.client() as client:
        for _ in range(BEFORE):
            submit(client)
        wait_until("the first emails", lambda: outbox_size(stack.postgres) == 0, 30)

        raised = time.monotonic()
        stack.rabbitmq.ctl("set_vm_memory_high_watermark", "0")
        unready: httpx.Response | None = None
        while unready is None and time.monotonic() - raised < 3 * UNREADY_WITHIN:
            submit(client)
            readyz = client.get("/readyz")
            if readyz.status_code == 503:
                unready = readyz
            time.sleep(0.2)
        unready_after = time.monotonic() - raised
        counts.notes["unready_after_s"] = round(unready_after, 1)
        for _ in range(AFTER):
            submit(client)
        still = client.get("/readyz")
        # The outbox's age keeps growing while nothing can be published (what its alert
        # watches), though every relay pass stalls.
        age, deadline = 0.0, time.monotonic() + 30
        while age < 2 and time.monotonic() < deadline:
            age = value(samples(metrics_url), "switchyard_outbox_oldest_due_seconds")
            time.sleep(0.5)
        counts.notes["outbox_age_s"] = round(age, 1)
        waiting = outbox_size(stack.postgres)
        counts.notes["outbox_during_alarm"] = waiting

        stack.rabbitmq.ctl("set_vm_memory_high_watermark", "0.4")
        wait_until("/readyz to recover", lambda: client.get("/readyz").status_code == 200, 60)
        documents = wait_until_final(client, accepted.values(), timeout=180)
    counts.accepted = len(accepted)
    counts.count_documents(documents.values())
    counts.count_deliveries(stack.sink, accepted)

    assert refused == []
    assert unready is not None, f"/readyz stayed 200 for {unready_after:.0f}s of the alarm"
    assert unready_after <= UNREADY_WITHIN
    body = unready.json()
    assert "relay" in body["down"], body
    assert body["checks"]["broker"] == "ok", "the broker takes connections during an alarm"
    assert still.status_code == 503
    assert age >= 2, "the outbox's age gauge stood still while nothing could be published"
    assert waiting > 0, "the alarm should have held messages in the outbox"
    unfinished = [d for d in documents.values() if d["status"] != "succeeded"]
    assert counts.succeeded == counts.accepted, (unfinished[:3], stack.logs())
    assert counts.lost == 0
    assert counts.duplicated == 0
