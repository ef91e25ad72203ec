"""The compose file's RabbitMQ grants, exercised: each service runs as its own user.

The users and permissions come from docker-compose.yml's definitions; they are created
on the test broker in a fresh vhost, and a chain and a chord run through the API and
both workers connected as those users (the topology declared by an admin first), while
the scheduler sends a report schedule and the result clean-up to the API's intake, and
the intake delivers (and retries) the chain's webhook.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from switchyard_runtime.entitlements import Entitlements
from switchyard_runtime.metrics import system_queues
from tests.deploy.conftest import SERVICES
from tests.support import processes
from tests.support.infra import fresh_database, provide_database
from tests.support.polling import wait_for_workflow
from tests.support.prometheus import samples
from tests.support.smtp_sink import SmtpSink, free_port
from tests.support.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e

#: How each service is started (by default: its own command).
COMMANDS = {"api-intake": ["api", "intake"]}
#: The scheduler's report every two seconds and the result clean-up with it.
SCHEDULER_ENV = {
    "SCHEDULE_EMAIL_ACTIVITY": "2",
    "SCHEDULE_BACKEND_CLEANUP": "2",
    "REPORT_RECIPIENTS": "s@example.com",
}


@pytest.fixture
def grants_database() -> Iterator[str]:
    with provide_database(os.environ) as server, fresh_database(server) as url:
        yield url


def test_the_services_work_with_only_the_grants_the_compose_file_gives_them(
    amqp_admin_url: str,
    service_users: dict[str, str],
    grants_database: str,
    tmp_path: Path,
) -> None:
    sink = SmtpSink().start()
    receiver = Receiver()
    port = free_port()
    metrics_ports = {worker: str(free_port()) for worker in ("email-worker", "report-worker")}
    base = {
        "DATABASE_URL": grants_database,
        "SMTP_HOST": sink.host,
        "SMTP_PORT": str(sink.port),
        "WEBHOOK_ALLOW_PRIVATE": "true",
        "WEBHOOK_RETRY_BASE": "1",
        "METRICS_PORT": "0",
        # The compose users' default entitlements, under this test's names for them.
        "TENANT_PRODUCERS": json.dumps(
            {
                urllib.parse.unquote(urllib.parse.urlsplit(url).username or ""): sorted(
                    Entitlements.of().grants[service]
                )
                for service, url in service_users.items()
            }
        ),
    }
    started: list[processes.ServiceProcess] = []
    try:
        for service in ("api", "email-worker", "report-worker", "scheduler"):
            processes.run([service, "migrate"], {**base, "AMQP_URL": amqp_admin_url})
        for service in SERVICES:
            env = {**base, "AMQP_URL": service_users[service], "API_PORT": str(port)}
            if service == "scheduler":
                env |= SCHEDULER_ENV
            if service in metrics_ports:
                env["METRICS_PORT"] = metrics_ports[service]
            argv = COMMANDS.get(service, [service])
            started.append(processes.start(service, argv, env, tmp_path))
        api, intake, email_worker, report_worker, scheduler = started
        for worker in (intake, email_worker, report_worker):
            processes.wait_for_log(worker, "ready.")
        processes.wait_for_log(scheduler, "scheduler is the leader")
        processes.wait_until_ready(api, f"http://127.0.0.1:{port}/readyz")
        key = processes.create_api_key(base, "grants")
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=40, headers=processes.bearer(key)
        ) as client:
            # The first attempt fails: the intake publishes its retry as its own user.
            receiver.answer("/grants", 500, 200)
            hook = client.post("/v1/webhooks", json={"url": receiver.url("/grants")})
            assert hook.status_code == 201, hook.text
            period = {"start": "2026-01-01", "end": "2026-01-31"}
            chain = client.post(
                "/v1/reports",
                json={"kind": "email_activity", "period": period, "deliver_to": ["c@example.com"]},
            ).json()
            chord = client.post(
                "/v1/report-batches",
                json={
                    "reports": [{"kind": "email_activity", "period": period}] * 2,
                    "deliver_to": ["d@example.com"],
                },
            ).json()
            for accepted in (chain, chord):
                document = wait_for_workflow(client, accepted["workflow_id"])
                assert document["status"] == "succeeded", document
        assert len(sink.mailbox.wait_for_recipient("c@example.com")) == 1
        # The chain's and the chord's webhooks: three requests, one of them retried.
        delivered = Counter(r.headers["webhook-id"] for r in receiver.wait_for("/grants", 3))
        assert sorted(delivered.values()) == [1, 2]
        assert len(sink.mailbox.wait_for_recipient("d@example.com")) == 1
        # The scheduler's tick reached the intake, whose workflow reached the workers.
        assert sink.mailbox.wait_for_recipient("s@example.com"), scheduler.tail()
        processes.wait_for_log(intake, "Task celery.backend_cleanup[", timeout=20)
        assert re.search(r"Task celery\.backend_cleanup\[[^\]]+\] succeeded", intake.logs())
        # Each worker reports the depth and consumers of every queue, the other services'
        # too: a passive declare needs no grant.
        for reporter, metrics_port in metrics_ports.items():
            found = samples(f"http://127.0.0.1:{metrics_port}/metrics")
            consumers = [labels for name, labels in found if name == "switchyard_queue_consumers"]
            reported = {dict(labels)["queue"] for labels in consumers}
            assert reported == set(system_queues()), reporter
        # Each service declares the catch-all `unroutable` queue with its binding, which
        # needs read on the `unroutable` exchange, and so on the queue of that name: only
        # the admin has it, whose `api migrate` made the binding. That refusal is logged
        # and harmless; every other declaration a service makes is allowed.
        for running in started:
            assert "broker topology declared" in running.logs(), running.name
        refusals = [
            line
            for running in started
            for line in running.logs().splitlines()
            if "ACCESS_REFUSED" in line and "declare queue 'unroutable'" not in line
        ]
        assert refusals == []
        # Each exchange a service publishes to but leaves to its owner (the scheduler's
        # `workflows`, the report worker's `email`) was found, declared by the admin.
        for running in started:
            assert "publishes to is not declared yet" not in running.logs(), running.name
    finally:
        for running in reversed(started):
            running.stop()
        sink.stop()
        receiver.close()
