"""Scenario 2: RabbitMQ stops during a burst of 500 submissions, then starts again.

While the broker is down the API keeps answering 202 (the outbox holds the work), a
workflow can still be cancelled, and only ``/readyz`` says something is wrong (503,
naming the broker, and the relay that cannot publish); once it is back, every accepted
workflow reaches a final status and every email (but the cancelled one) arrives once.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

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
from tests.support.polling import FINISHED

pytestmark = pytest.mark.e2e

SUBMISSIONS = 500
#: The broker starts stopping after this many submissions...
STOP_AT = 150
#: ...and is down (stopped, not merely stopping) from this one to the end of the burst.
DOWN_BY = 300
#: Callers submitting at once.
CLIENTS = 4


def test_a_broker_outage_delays_work_but_fails_and_loses_none(
    stack: Stack, report: list[Counts]
) -> None:
    counts = Counts("2 RabbitMQ stopped mid-burst")
    report.append(counts)
    stack.start("email-worker", "api")
    wanted = subjects("broker-outage", SUBMISSIONS)
    server_errors: list[str] = []
    readyz_while_down: list[httpx.Response] = []

    def note(response: httpx.Response) -> httpx.Response:
        if response.status_code >= 500 and response.request.url.path != "/readyz":
            server_errors.append(f"{response.request.url.path}: {response.status_code}")
        return response

    def submit(client: httpx.Client, subject: str) -> tuple[str, httpx.Response]:
        return subject, note(client.post("/v1/emails", json=email(subject)))

    stopping = threading.Thread(target=stack.rabbitmq.stop)
    accepted: dict[str, str] = {}
    with stack.client() as client, ThreadPoolExecutor(CLIENTS) as callers:
        for first, end in ((0, STOP_AT), (STOP_AT, DOWN_BY), (DOWN_BY, SUBMISSIONS)):
            if first == STOP_AT:
                stopping.start()
            if first == DOWN_BY:
                stopping.join()
                assert not stack.rabbitmq.running()
                readyz_while_down.append(client.get("/readyz"))
            burst = callers.map(lambda subject: submit(client, subject), wanted[first:end])
            for subject, response in burst:
                if response.status_code == 202:
                    accepted[subject] = response.json()["workflow_id"]
        # Reads and cancels need the database alone (the revoke broadcast is a bonus).
        cancelled = accepted[wanted[DOWN_BY]]
        cancel = note(client.post(f"/v1/workflows/{cancelled}/cancel"))
        assert cancel.status_code == 202, cancel.text
        note(client.get(f"/v1/workflows/{accepted[wanted[0]]}"))
        readyz_while_down.append(client.get("/readyz"))
        waiting = outbox_size(stack.postgres)
        counts.notes["outbox_while_down"] = waiting

        stack.rabbitmq.start()
        wait_until("/readyz to recover", lambda: client.get("/readyz").status_code == 200, 60)
        documents = wait_until_final(client, accepted.values(), timeout=240)
    counts.accepted = len(accepted)
    counts.count_documents(documents.values())
    counts.count_deliveries(stack.sink, (s for s in accepted if s != wanted[DOWN_BY]))
    counts.notes["5xx"] = len(server_errors)
    counts.notes["readyz_while_down"] = ",".join(str(r.status_code) for r in readyz_while_down)

    assert server_errors == []
    assert counts.accepted == SUBMISSIONS
    for response in readyz_while_down:
        assert response.status_code == 503
        # The relay, which cannot publish, says so too; the database is fine.
        assert "broker" in response.json()["down"]
        assert "database" not in response.json()["down"]
    assert waiting > 0, "the burst should have outrun the relay while the broker was down"
    unfinished = [d for d in documents.values() if d["status"] not in FINISHED]
    assert counts.finished == SUBMISSIONS, (unfinished[:3], stack.logs())
    assert documents[cancelled]["status"] == "cancelled"
    assert stack.sink.mailbox.with_subject(wanted[DOWN_BY]) == []
    failed = [d for d in documents.values() if d["status"] == "failed"]
    assert failed == []
    assert counts.succeeded == SUBMISSIONS - 1
    assert counts.lost == 0
    assert counts.duplicated == 0
