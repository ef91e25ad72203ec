"""Scenario 1: SIGKILL the email worker with 200 emails in flight, then start it again.

Each email must arrive exactly once: the tasks the dead worker held are redelivered
(late acks), and the ones it had finished are not run again.

The kill lands while every worker process is inside an SMTP transaction that the sink
holds at ``MAIL FROM``, before any message of it was accepted. A kill between the SMTP
server's ``250`` and the worker's record of it would send that email twice: SMTP offers
no way to ask whether a message went out, so no worker can close that gap, and a test
that killed at a random moment would fail now and then for it.
"""

from __future__ import annotations

import time

import pytest

from tests.faults.conftest import Counts, Stack, email, subjects, wait_until, wait_until_final

pytestmark = pytest.mark.e2e

EMAILS = 200
#: Delivered before the kill: enough to be mid-run, far from the end.
KILL_AFTER = 50
CONCURRENCY = 2


def test_a_killed_email_worker_neither_loses_nor_repeats_an_email(
    stack: Stack, report: list[Counts]
) -> None:
    counts = Counts("1 SIGKILL email worker")
    report.append(counts)
    mailbox = stack.sink.mailbox
    stack.start("api")
    wanted = subjects("worker-kill", EMAILS)
    with stack.client() as client:
        workflow_ids = []
        for subject in wanted:
            response = client.post("/v1/emails", json=email(subject))
            assert response.status_code == 202, response.text
            workflow_ids.append(response.json()["workflow_id"])
        counts.accepted = len(workflow_ids)

        stack.start("email-worker")
        wait_until(f"{KILL_AFTER} deliveries", lambda: len(mailbox.received()) >= KILL_AFTER, 60)
        mailbox.hold()
        wait_until(
            "every worker process inside an SMTP transaction",
            lambda: mailbox.waiting() == CONCURRENCY,
            30,
        )
        stack.services["email-worker"].kill()
        delivered_at_kill = len(mailbox.received())
        mailbox.release()
        counts.notes["delivered_before_kill"] = delivered_at_kill
        assert delivered_at_kill < EMAILS

        stack.start("email-worker")
        documents = wait_until_final(client, workflow_ids, timeout=180)
        time.sleep(1)  # a late duplicate would show up here
    counts.count_documents(documents.values())
    counts.count_deliveries(stack.sink, wanted)

    unfinished = [d for d in documents.values() if d["status"] != "succeeded"]
    assert counts.finished == EMAILS, (unfinished[:3], stack.logs())
    assert counts.succeeded == EMAILS, unfinished[:3]
    assert counts.lost == 0
    assert counts.duplicated == 0
