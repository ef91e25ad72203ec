"""Scenario 3: PostgreSQL restarts while emails are being delivered.

The workers and the API reconnect by themselves; every workflow accepted before or
after the restart finishes with its result, and no email is lost or sent twice.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.faults.conftest import Counts, Stack, email, subjects, wait_until, wait_until_final

pytestmark = pytest.mark.e2e

BEFORE = 150
AFTER = 50
#: Delivered before the restart: mid-run.
RESTART_AFTER = 30
#: Seconds the database stays down.
DOWNTIME = 3.0


def test_a_database_restart_loses_no_result_and_leaves_no_workflow_stuck(
    stack: Stack, report: list[Counts]
) -> None:
    counts = Counts("3 PostgreSQL restarted mid-run")
    report.append(counts)
    mailbox = stack.sink.mailbox
    stack.start("api")
    wanted = subjects("db-restart", BEFORE + AFTER)
    accepted: dict[str, str] = {}
    while_down: list[int] = []

    def submit(client: httpx.Client, subject: str) -> None:
        response = client.post("/v1/emails", json=email(subject))
        assert response.status_code == 202, response.text
        accepted[subject] = response.json()["workflow_id"]

    with stack.client() as client:
        for subject in wanted[:BEFORE]:
            submit(client, subject)
        stack.start("email-worker")
        wait_until(
            f"{RESTART_AFTER} deliveries", lambda: len(mailbox.received()) >= RESTART_AFTER, 60
        )
        stack.postgres.stop()
        down_since = time.monotonic()
        counts.notes["delivered_before_restart"] = len(mailbox.received())
        while time.monotonic() - down_since < DOWNTIME:
            while_down.append(client.post("/v1/emails", json=email("never stored")).status_code)
            time.sleep(0.5)
        readyz = client.get("/readyz")
        stack.postgres.start()

        for subject in wanted[BEFORE:]:
            submit(client, subject)
        documents = wait_until_final(client, accepted.values(), timeout=240)
        time.sleep(1)  # a late duplicate would show up here
    counts.accepted = len(accepted)
    counts.count_documents(documents.values())
    counts.count_deliveries(stack.sink, accepted)
    counts.notes["while_down"] = ",".join(sorted({str(code) for code in while_down}))

    assert readyz.status_code == 503 and readyz.json()["down"] == ["database"], readyz.text
    # Nothing can be accepted without the database; the API says so, and says it is
    # temporary, instead of failing with a 500.
    assert set(while_down) == {503}
    stuck = [d for d in documents.values() if d["status"] not in ("succeeded", "failed")]
    failed = [d for d in documents.values() if d["status"] == "failed"]
    assert stuck == [], (stuck[:3], stack.logs())
    assert failed == [], (failed[:3], stack.logs())
    assert counts.succeeded == BEFORE + AFTER
    for document in documents.values():
        [step] = document["steps"]
        assert step["result"] and step["result"]["message_id"], document
    assert counts.lost == 0
    assert counts.duplicated == 0
