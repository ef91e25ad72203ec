"""The email worker and its mail server: implicit TLS with a login, no credentials in
clear, and what a tenant reads when the mail server cannot be reached.

Each test runs its own email worker, configured for its mail server, on a vhost and a
database of this module's (the session's worker would take the mail otherwise).
"""

from __future__ import annotations

import json
import os
import re
import ssl
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from tests.support import processes
from tests.support.infra import fresh_database, fresh_vhost, provide_broker, provide_database
from tests.support.polling import FINISHED
from tests.support.smtp_sink import SmtpSink, free_port

pytestmark = pytest.mark.e2e

CREDENTIALS = ("mailer", "s3cret-passw0rd")
MAX_RETRIES = 2


@dataclass
class Stack:
    """The API on this module's vhost and database, and a key to call it with."""

    env: dict[str, str]
    api_url: str
    api_key: str
    log_dir: Path

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.api_url, timeout=40, headers=processes.bearer(self.api_key)
        )

    @contextmanager
    def email_worker(self, label: str, smtp: dict[str, str]) -> Iterator[processes.ServiceProcess]:
        worker = processes.start(label, ["email-worker"], {**self.env, **smtp}, self.log_dir)
        try:
            processes.wait_for_log(worker, "ready.")
            yield worker
        finally:
            worker.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with (
        provide_broker(os.environ) as (broker_url, management_url),
        fresh_vhost(broker_url, management_url, prefix="smtp") as amqp_url,
        provide_database(os.environ) as server_url,
        fresh_database(server_url, prefix="smtp") as database_url,
    ):
        port = free_port()
        env = {
            "AMQP_URL": amqp_url,
            "DATABASE_URL": database_url,
            "API_HOST": "127.0.0.1",
            "API_PORT": str(port),
            "EMAIL_RETRY_BACKOFF": "1",
            "EMAIL_RETRY_BACKOFF_MAX": "2",
            "EMAIL_MAX_RETRIES": str(MAX_RETRIES),
            "WORKER_CONCURRENCY": "1",
        }
        processes.run(["api", "migrate"], env)
        processes.run(["email-worker", "migrate"], env)
        log_dir = tmp_path_factory.mktemp("smtp-logs")
        api = processes.start("api", ["api"], env, log_dir)
        try:
            api_url = f"http://127.0.0.1:{port}"
            processes.wait_until_ready(api, f"{api_url}/readyz")
            yield Stack(env, api_url, processes.create_api_key(env, "smtp-tests"), log_dir)
        finally:
            api.stop()


def submit(client: httpx.Client, subject: str) -> str:
    response = client.post(
        "/v1/emails", json={"to": ["ada@example.com"], "subject": subject, "text": "Hello"}
    )
    assert response.status_code == 202, response.text
    return str(response.json()["workflow_id"])


def every_version_until_finished(
    client: httpx.Client, workflow_id: str, timeout: float = 60.0
) -> list[dict[str, Any]]:
    """Each version of the status document a long-polling tenant sees, the last finished."""
    seen: list[dict[str, Any]] = []
    etag: str | None = None
    for _ in range(int(timeout / 5) + 1):
        response = client.get(
            f"/v1/workflows/{workflow_id}",
            params={"wait": 5} if etag else {},
            headers={"If-None-Match": etag} if etag else {},
        )
        if response.status_code == 304:
            continue
        response.raise_for_status()
        etag = response.headers["ETag"]
        seen.append(response.json())
        if seen[-1]["status"] in FINISHED and seen[-1]["finished_at"]:
            return seen
    raise AssertionError(f"workflow {workflow_id} did not finish: {seen[-1:]}")


def test_mail_goes_over_implicit_tls_with_a_login(stack: Stack, tmp_path: Path) -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    sink = SmtpSink(implicit_tls=server_context, credentials=CREDENTIALS).start()
    smtp = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(sink.port),
        "SMTP_TLS": "implicit",
        "SMTP_CA_FILE": str(ca_file),
        "SMTP_USERNAME": CREDENTIALS[0],
        "SMTP_PASSWORD": CREDENTIALS[1],
    }
    subject = f"over tls {uuid.uuid4().hex[:8]}"
    try:
        with stack.email_worker("email-worker-tls", smtp), stack.client() as client:
            document = every_version_until_finished(client, submit(client, subject))[-1]
            [received] = sink.mailbox.wait_for(subject)
    finally:
        sink.stop()
    assert document["status"] == "succeeded", document
    assert document["steps"][0]["attempts"] == 1
    assert received.envelope_to == ["ada@example.com"]


def test_a_username_without_tls_stops_the_worker_naming_the_settings(stack: Stack) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SMTP_")}
    result = subprocess.run(
        [str(processes.BIN / "email-worker")],
        env={
            **environment,
            **stack.env,
            "SMTP_USERNAME": CREDENTIALS[0],
            "SMTP_PASSWORD": CREDENTIALS[1],
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "SMTP_USERNAME" in result.stderr
    assert "SMTP_TLS=starttls" in result.stderr and "SMTP_TLS=implicit" in result.stderr
    assert "Traceback" not in result.stderr
    assert CREDENTIALS[1] not in result.stdout + result.stderr


def test_an_unreachable_mail_server_is_retried_and_reported_without_its_address(
    stack: Stack,
) -> None:
    closed = free_port()
    smtp = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(closed)}
    with stack.email_worker("email-worker-closed-port", smtp) as worker, stack.client() as client:
        versions = every_version_until_finished(client, submit(client, "unreachable"))
        logs = worker.logs()
    document = versions[-1]
    assert document["status"] == "failed", document
    [step] = document["steps"]
    assert step["attempts"] == MAX_RETRIES + 1  # transient: retried, as before
    assert step["error"] == {
        "type": "SMTPUnavailable",
        "message": "the mail server could not be reached",
    }
    assert document["error"] == step["error"]
    for version in versions:  # whatever the tenant saw on the way, too
        text = json.dumps(version)
        assert "127.0.0.1" not in text, version
        assert not re.search(rf"\b{closed}\b", text), version
    # The operator's log has the whole story.
    failures = [line for line in logs.splitlines() if '"delivery failed"' in line]
    assert len(failures) == MAX_RETRIES + 1, logs[-3000:]
    assert all(f"127.0.0.1:{closed}" in line for line in failures)
