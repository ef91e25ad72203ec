"""Two copies of one ``email.send`` message, run at once by two worker processes, send once.

At-least-once publishing puts such twins in the queue: the outbox relay publishes again
whatever the broker did not confirm (e.g. when it went down mid-batch), and the worker's
two pool processes may then take both copies at the same moment.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
from celery import Celery

from contracts import SendEmail, dispatch
from switchyard_runtime.celery_app import create_celery_app
from switchyard_runtime.settings import PlatformSettings, load_settings
from tests.conftest import System
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.e2e

#: Pairs of twins: enough that two copies run side by side at least once.
EMAILS = 20


@pytest.fixture
def producer(system: System, monkeypatch: pytest.MonkeyPatch) -> Iterator[Celery]:
    monkeypatch.setenv("AMQP_URL", system.env["AMQP_URL"])
    monkeypatch.setenv("DATABASE_URL", system.env["DATABASE_URL"])
    app = create_celery_app("twin-producer", load_settings(PlatformSettings))
    yield app
    app.close()


def test_twin_messages_send_one_email(producer: Celery, smtp_sink: SmtpSink) -> None:
    run = uuid.uuid4().hex[:8]
    subjects = [f"twins {run} #{i}" for i in range(EMAILS)]
    twins = [
        (SendEmail(to=["ada@example.com"], subject=subject, text="once"), str(uuid.uuid4()))
        for subject in subjects
    ]
    # Two publishers in step, so both copies of each message reach the queue together.
    together = threading.Barrier(2)

    def publish_one_copy_of_each() -> None:
        for payload, task_id in twins:
            together.wait(timeout=30)
            dispatch(producer, payload, task_id=task_id)

    publishers = [threading.Thread(target=publish_one_copy_of_each) for _ in range(2)]
    for publisher in publishers:
        publisher.start()
    for publisher in publishers:
        publisher.join(60)

    for subject in subjects:
        assert len(smtp_sink.mailbox.wait_for(subject, timeout=60)) >= 1, subject
    # Both copies of each have had time to run by now; a second email would be here.
    late = smtp_sink.mailbox.wait_for(subjects[-1], count=2, timeout=3)
    sent = {subject: len(smtp_sink.mailbox.with_subject(subject)) for subject in subjects}
    assert sent == dict.fromkeys(subjects, 1), late
