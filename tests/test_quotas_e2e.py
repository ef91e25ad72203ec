"""Lanes per key and per-tenant quotas, against the running system: a key without a lane
is refused it (403 naming it), a tenant past a quota is answered 429 with the quota and
when it resets, and a quota holds exactly across several API processes and servers."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import System, api_client
from tests.support import processes
from tests.support.polling import wait_for_workflow
from tests.support.smtp_sink import SmtpSink, free_port

pytestmark = pytest.mark.e2e

PERIOD = {"start": "2026-01-01", "end": "2026-01-02"}


def fresh_tenant(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


def email(lane: str | None = None, to: int = 1, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "to": [f"quota{n}@example.com" for n in range(to)],
        "subject": f"quota {uuid.uuid4().hex[:8]}",
        "text": "hello",
        **extra,
    }
    if lane is not None:
        body["lane"] = lane
    return body


def key_with(system: System, tenant: str, *options: str) -> str:
    output = processes.run(["api", "keys", "create", "--tenant", tenant, *options], system.env)
    return output.strip().splitlines()[-1]


def set_quotas(system: System, tenant: str, *options: str) -> str:
    return processes.run(["api", "quotas", "set", tenant, *options], system.env)


def workflows_of(system: System, tenant: str) -> int:
    with psycopg.connect(system.env["DATABASE_URL"], autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM api.workflows WHERE tenant = %s", (tenant,))
        found = row.fetchone()
    assert found is not None
    return int(found[0])


@pytest.fixture(scope="module")
def transactional_only(system: System) -> Iterator[httpx.Client]:
    key = key_with(system, fresh_tenant("lanes"), "--lanes", "transactional")
    with api_client(system, key) as http:
        yield http


@pytest.mark.parametrize("idempotent", [False, True], ids=["fast path", "router"])
def test_a_key_without_bulk_is_refused_a_bulk_email_naming_the_lane(
    transactional_only: httpx.Client, idempotent: bool
) -> None:
    # Without an Idempotency-Key the email is answered in front of the router; with one,
    # by the documented route: the same refusal either way.
    headers = {"Idempotency-Key": uuid.uuid4().hex} if idempotent else {}
    refused = transactional_only.post("/v1/emails", json=email("bulk"), headers=headers)
    assert refused.status_code == 403, refused.text
    assert refused.json() == {
        "detail": "this API key may not send email in lane 'bulk'",
        "lane": "bulk",
        "loc": ["body", "lane"],
    }
    accepted = transactional_only.post("/v1/emails", json=email("transactional"), headers=headers)
    assert accepted.status_code == 202, accepted.text
    document = wait_for_workflow(transactional_only, accepted.json()["workflow_id"])
    assert document["status"] == "succeeded"


def test_a_bulk_only_key_sends_bulk_but_no_report_by_email(system: System) -> None:
    tenant = fresh_tenant("bulk")
    with api_client(system, key_with(system, tenant, "--lanes", "bulk")) as bulk:
        refused = bulk.post("/v1/emails", json=email())  # the default lane: transactional
        assert refused.status_code == 403
        assert refused.json()["lane"] == "transactional"

        report = {"kind": "email_activity", "period": PERIOD, "deliver_to": ["a@example.com"]}
        refused = bulk.post("/v1/reports", json=report)
        assert refused.status_code == 403, refused.text
        assert refused.json()["loc"] == ["body", "deliver_to"]
        batch = {"reports": [{"kind": "email_activity", "period": PERIOD}], **report}
        del batch["kind"], batch["period"]
        assert bulk.post("/v1/report-batches", json=batch).status_code == 403

        assert bulk.post("/v1/emails", json=email("bulk")).status_code == 202
        no_email = bulk.post("/v1/reports", json={"kind": "email_activity", "period": PERIOD})
        assert no_email.status_code == 202, no_email.text
    assert workflows_of(system, tenant) == 2, "nothing refused was stored"


def test_lanes_are_validated_listed_and_default_to_every_lane(system: System) -> None:
    tenant = fresh_tenant("listing")
    with pytest.raises(RuntimeError, match="unknown lane 'newsletter'"):
        key_with(system, tenant, "--lanes", "transactional,newsletter")
    with api_client(system, key_with(system, tenant)) as every:
        assert every.post("/v1/emails", json=email("bulk")).status_code == 202
        assert every.post("/v1/emails", json=email("transactional")).status_code == 202
    key_with(system, tenant, "--lanes", "bulk,transactional")
    listing = processes.run(["api", "keys", "list", "--tenant", tenant], system.env)
    lanes = sorted(re.findall(r"lanes (\S+)", listing))
    assert lanes == ["all", "bulk,transactional"], listing


def clear_of_the_window_end(window: timedelta) -> None:
    """Wait out the last half minute of the current UTC ``window`` (an hour, a day), so
    that a test's submissions all fall in one window."""
    now = datetime.now(UTC)
    into = (now - now.replace(hour=0, minute=0, second=0, microsecond=0)) % window
    left = (window - into).total_seconds()
    if left < 30:
        time.sleep(left + 1)


def next_midnight() -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=1)


def test_the_sixth_recipient_of_a_day_is_429_with_the_quota_and_its_reset(
    system: System,
) -> None:
    tenant = fresh_tenant("daily")
    clear_of_the_window_end(timedelta(days=1))
    shown = set_quotas(system, tenant, "--recipients-per-day", "5")
    assert f"{tenant}  recipients_per_day 0/5 " in shown, shown
    assert "reports_per_hour 0/100000 (default)" in shown, "the session's default"
    replayed_key = uuid.uuid4().hex
    with api_client(system, key_with(system, tenant)) as http:
        first = email(to=2, cc=["cc@example.com"], bcc=["bcc@example.com"])
        answered = http.post("/v1/emails", json=first, headers={"Idempotency-Key": replayed_key})
        assert answered.status_code == 202, answered.text
        assert http.post("/v1/emails", json=email()).status_code == 202  # the fifth

        refused = http.post("/v1/emails", json=email())
        assert refused.status_code == 429, refused.text
        body = refused.json()
        resets_at = next_midnight()
        assert {k: body[k] for k in ("quota", "limit", "used", "requested")} == {
            "quota": "recipients_per_day",
            "limit": 5,
            "used": 5,
            "requested": 1,
        }
        assert datetime.fromisoformat(body["resets_at"]) == resets_at
        assert "5 recipients per day" in body["detail"]
        retry_after = int(refused.headers["Retry-After"])
        left = (resets_at - datetime.now(UTC)).total_seconds()
        assert left - 60 <= retry_after <= left + 60

        # A replay stores nothing and so counts nothing: still answered, quota or not.
        again = http.post("/v1/emails", json=first, headers={"Idempotency-Key": replayed_key})
        assert again.status_code == 200, again.text
        assert again.json()["workflow_id"] == answered.json()["workflow_id"]

        # Refused through the router too (an Idempotency-Key), the key left unclaimed.
        two, claimed = email(to=2), {"Idempotency-Key": uuid.uuid4().hex}
        refused = http.post("/v1/emails", json=two, headers=claimed)
        assert refused.status_code == 429, refused.text
        assert refused.json()["requested"] == 2

        # A limit raised takes effect at once; what was refused was not counted, and its
        # key starts the workflow now rather than replaying a refusal.
        set_quotas(system, tenant, "--recipients-per-day", "7")
        accepted = http.post("/v1/emails", json=two, headers=claimed)
        assert accepted.status_code == 202, accepted.text
        assert http.post("/v1/emails", json=email()).json()["used"] == 7
    shown = processes.run(["api", "quotas", "show", tenant], system.env)
    assert f"recipients_per_day 7/7 resets {resets_at:%Y-%m-%dT%H:%M:%SZ}" in shown, shown
    assert workflows_of(system, tenant) == 3


def test_reports_per_hour_count_each_report_of_a_batch(system: System) -> None:
    tenant = fresh_tenant("hourly")
    clear_of_the_window_end(timedelta(hours=1))
    set_quotas(system, tenant, "--reports-per-hour", "3", "--recipients-per-day", "1")
    with api_client(system, key_with(system, tenant)) as http:
        batch = {"reports": [{"kind": "email_activity", "period": PERIOD}] * 2}
        assert http.post("/v1/report-batches", json=batch).status_code == 202
        refused = http.post("/v1/report-batches", json=batch)
        assert refused.status_code == 429, refused.text
        assert {k: refused.json()[k] for k in ("quota", "limit", "used", "requested")} == {
            "quota": "reports_per_hour",
            "limit": 3,
            "used": 2,
            "requested": 2,
        }
        hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        assert datetime.fromisoformat(refused.json()["resets_at"]) == hour + timedelta(hours=1)

        # One report mailed to two: the report would fit, its recipients do not; and
        # neither is counted.
        mailed = {"kind": "email_activity", "period": PERIOD, "deliver_to": ["a@x.org", "b@x.org"]}
        refused = http.post("/v1/reports", json=mailed)
        assert refused.json()["quota"] == "recipients_per_day"
        assert (
            http.post("/v1/reports", json={**mailed, "deliver_to": ["a@x.org"]}).status_code == 202
        )
        alone = http.post("/v1/reports", json={"kind": "email_activity", "period": PERIOD})
        assert alone.json()["quota"] == "reports_per_hour"
    assert workflows_of(system, tenant) == 2


@pytest.fixture
def second_api(system: System, tmp_path: Path, smtp_sink: SmtpSink) -> Iterator[str]:
    """Another API server on the same broker and database (a replica), one process."""
    port = free_port()
    api = processes.start(
        "api-replica",
        ["api"],
        {**system.env, "API_PORT": str(port), "API_WORKERS": "1"},
        tmp_path,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        processes.wait_until_ready(api, f"{url}/readyz")
        yield url
    finally:
        api.stop()


def test_a_quota_holds_exactly_across_api_processes_and_servers(
    system: System, second_api: str
) -> None:
    tenant = fresh_tenant("shared")
    clear_of_the_window_end(timedelta(days=1))
    limit, attempts = 20, 60
    set_quotas(system, tenant, "--recipients-per-day", str(limit))
    key = key_with(system, tenant)
    servers = [system.api_url, second_api]  # two processes (API_WORKERS=2), and one more
    clients = [
        httpx.Client(base_url=url, timeout=40, headers=processes.bearer(key)) for url in servers
    ]
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(
                pool.map(
                    lambda n: clients[n % 2].post("/v1/emails", json=email()).status_code,
                    range(attempts),
                )
            )
    finally:
        for http in clients:
            http.close()
    assert sorted(set(answers)) == [202, 429], answers
    assert answers.count(202) == limit
    assert answers.count(429) == attempts - limit
    assert workflows_of(system, tenant) == limit
    shown = processes.run(["api", "quotas", "show", tenant], system.env)
    assert f"recipients_per_day {limit}/{limit} " in shown, "refusals were not counted"
