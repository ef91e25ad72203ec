"""Scenario 6: step changes nobody was told about, and a status leader that dies.

Status is pushed: a trigger announces each result row and the API process holding the
status leadership stores the documents. A notification sent while no API process listens
is lost; the next leader's reconcile pass repairs what it missed. A leader that dies
(SIGKILL) hands the leadership to another process within seconds.
"""

from __future__ import annotations

import os
import re
import signal
import time

import psutil
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

pytestmark = pytest.mark.e2e

EMAILS = 20


def test_results_stored_while_no_api_ran_show_once_an_api_is_back(
    stack: Stack, report: list[Counts]
) -> None:
    counts = Counts("6a. results stored while every API process was down")
    report.append(counts)
    stack.start("api")
    wanted = subjects("unannounced", EMAILS)
    with stack.client() as client:
        workflow_ids = []
        for subject in wanted:
            response = client.post("/v1/emails", json=email(subject))
            assert response.status_code == 202, response.text
            workflow_ids.append(response.json()["workflow_id"])
        counts.accepted = len(workflow_ids)
        # Published (the outbox is empty) before the API goes away.
        wait_until("the outbox to drain", lambda: outbox_empty(stack), 30)
    stack.services["api"].stop()

    stack.start("email-worker")
    wait_until(
        "every email delivered with no API running",
        lambda: len(stack.sink.mailbox.received()) >= EMAILS,
        60,
    )

    stack.start("api")
    with stack.client() as client:
        documents = wait_until_final(client, workflow_ids, timeout=60)
    counts.count_documents(documents.values())
    counts.count_deliveries(stack.sink, wanted)

    assert counts.succeeded == EMAILS, stack.logs()
    assert counts.lost == 0
    assert counts.duplicated == 0
    assert "status reconciled" in stack.services["api"].logs()


def outbox_empty(stack: Stack) -> bool:
    return outbox_size(stack.postgres) == 0


def leader_pid(stack: Stack) -> int:
    """The server process that took the status leadership last (from the API's log)."""
    log = stack.services["api"].logs()
    taken = re.findall(r'"event": "status leadership taken".*?"process": (\d+)', log)
    assert taken, log[-3000:]
    return int(taken[-1])


def test_when_the_status_leader_is_killed_another_process_takes_over(
    stack: Stack, report: list[Counts]
) -> None:
    counts = Counts("6b. SIGKILL the status leader")
    report.append(counts)
    stack.start("api", "email-worker")
    api = stack.services["api"]
    wait_until("a status leader", lambda: "status leadership taken" in api.logs(), 30)
    leader = leader_pid(stack)
    assert leader in {child.pid for child in psutil.Process(api.process.pid).children()}
    os.kill(leader, signal.SIGKILL)
    killed_at = time.monotonic()

    wanted = subjects("after the leader died", EMAILS)
    with stack.client() as client:
        workflow_ids = []
        for subject in wanted:
            response = client.post("/v1/emails", json=email(subject))
            assert response.status_code == 202, response.text
            workflow_ids.append(response.json()["workflow_id"])
        counts.accepted = len(workflow_ids)
        documents = wait_until_final(client, workflow_ids, timeout=60)
    counts.notes["takeover_s"] = round(time.monotonic() - killed_at, 1)
    counts.count_documents(documents.values())
    counts.count_deliveries(stack.sink, wanted)

    assert leader_pid(stack) != leader, "another process leads"
    assert counts.succeeded == EMAILS, stack.logs()
    assert counts.lost == 0
    assert counts.duplicated == 0
