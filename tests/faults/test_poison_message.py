"""Scenario 5: a worker that dies on a poison message.

One email kills the pool process that runs it, every time (``tests.faults.dying_worker``).
It is submitted through the API first, then 20 good emails behind it, to a worker with
one pool process. With acks late and ``task_reject_on_worker_lost`` the broker delivers
the poison again after each death; once its ``x-delivery-count`` reaches the delivery
limit minus one, the worker refuses it: the message goes to ``email.transactional.dlq``
with the reason, its workflow fails with that reason, and the worker, still running,
delivers every other email, once.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from contracts.topology import DELIVERY_LIMIT
from switchyard_runtime.dead_letters import QUEUE_HEADER, REASON_HEADER
from tests.faults.conftest import Counts, Stack, email, subjects, wait_until_final
from tests.faults.dying_worker import POISON
from tests.support import processes
from tests.support.dead_letters import count_waiting, take_message

pytestmark = pytest.mark.e2e

GOOD = 20
DEAD_LETTER_QUEUE = "email.transactional.dlq"
REPO = Path(__file__).resolve().parents[2]


def start_dying_worker(stack: Stack) -> processes.ServiceProcess:
    """The test-only worker on ``email.transactional`` with a single pool process."""
    worker = processes.start(
        "dying-email-worker",
        [
            "celery",
            "-A",
            "tests.faults.dying_worker:app",
            "worker",
            "--queues",
            "email.transactional",
            "--concurrency",
            "1",
            "--pool",
            "prefork",
            "--hostname",
            f"dying-{uuid.uuid4().hex[:6]}@%h",
            "--loglevel",
            "INFO",
        ],
        {**stack.env, "PYTHONPATH": str(REPO)},
        stack.log_dir,
    )
    stack.services["dying-email-worker"] = worker
    processes.wait_for_log(worker, "ready.")
    return worker


def test_a_poison_message_is_dead_lettered_after_the_delivery_limit_and_the_worker_serves_on(
    stack: Stack, report: list[Counts]
) -> None:
    counts = Counts("5. worker dies on a poison message")
    report.append(counts)
    stack.start("api")
    worker = start_dying_worker(stack)
    poison_subject = f"{POISON} {uuid.uuid4().hex[:8]}"
    good_subjects = subjects("poison neighbour", GOOD)

    with stack.client() as client:
        accepted = []
        for subject in [poison_subject, *good_subjects]:
            response = client.post("/v1/emails", json=email(subject))
            assert response.status_code == 202, response.text
            accepted.append(response.json()["workflow_id"])
        counts.accepted = len(accepted)
        documents = wait_until_final(client, accepted, timeout=240)

    counts.count_documents(documents.values())
    counts.count_deliveries(stack.sink, good_subjects)
    poison = documents[accepted[0]]
    [step] = poison["steps"]
    letter = take_message(
        stack.rabbitmq.url, DEAD_LETTER_QUEUE, lambda m: m.headers.get("id") == step["task_id"]
    )
    left_over = count_waiting(stack.rabbitmq.url, DEAD_LETTER_QUEUE)
    deaths = worker.logs().count("exited with 'exitcode 70'")
    counts.notes["dead_lettered"] = int(letter is not None) + left_over
    counts.notes["poison_runs"] = deaths
    counts.lost += int(letter is None)

    assert poison["status"] == "failed", (poison, stack.logs())
    assert step["error"] == {
        "type": "DeliveryLimitReached",
        "message": f"redelivered {DELIVERY_LIMIT - 1} times; dead-lettered",
    }
    assert letter is not None, stack.logs()
    assert letter.headers[REASON_HEADER] == (
        f"DeliveryLimitReached: redelivered {DELIVERY_LIMIT - 1} times; dead-lettered"
    )
    assert letter.headers[QUEUE_HEADER] == "email.transactional"
    assert left_over == 0, "only the poison is dead-lettered"
    # It ran once per delivery before it was refused, killing its process each time.
    assert deaths == DELIVERY_LIMIT - 1, worker.tail()
    assert worker.alive(), "the worker's main process outlives its pool processes"
    assert stack.sink.mailbox.with_subject(poison_subject) == []

    assert counts.finished == counts.accepted, stack.logs()
    assert counts.succeeded == GOOD
    assert counts.lost == 0
    assert counts.duplicated == 0
