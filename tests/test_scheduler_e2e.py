"""The scheduler end to end: scheduled runs are workflows, each tick sent once, one leader.

Scheduler processes are started per test (the session's system runs none), every two
seconds instead of daily (``SCHEDULE_EMAIL_ACTIVITY=2``). Their runs belong to the tenant
``system`` and are read through the API with a key of that tenant, like a consumer would.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from contracts.workflows import workflow_id_for
from scheduler.leader import LEADER_LOCK
from tests.conftest import System, api_client
from tests.support import processes
from tests.support.polling import FINISHED, wait_for_workflow
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.e2e

SCHEDULE = "email_activity"
ORIGIN = f"schedule:{SCHEDULE}"
EVERY = 2
STARTED = "scheduled run started"
SKIPPED = "scheduled run skipped: the previous run is unfinished"
DUPLICATE = "scheduled run already started"

StartScheduler = Callable[..., processes.ServiceProcess]


def events(service: processes.ServiceProcess, event: str) -> list[dict[str, Any]]:
    """The service's structured log lines whose event is ``event``."""
    found = []
    for line in service.logs().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("event") == event:
                found.append(record)
    return found


def ticks_in(service: processes.ServiceProcess, event: str, schedule: str = SCHEDULE) -> list[str]:
    return [r["tick"] for r in events(service, event) if r.get("schedule") == schedule]


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment).astimezone(UTC)


def contiguous(ticks: list[str]) -> bool:
    moments = sorted(parse(tick) for tick in ticks)
    return all(b - a == timedelta(seconds=EVERY) for a, b in itertools.pairwise(moments))


def leader_of(*schedulers: processes.ServiceProcess) -> processes.ServiceProcess | None:
    leading = [s for s in schedulers if events(s, "scheduler is the leader") and s.alive()]
    return leading[0] if len(leading) == 1 else None


@pytest.fixture(scope="module")
def system_client(system: System) -> Iterator[httpx.Client]:
    """A consumer holding a key of the tenant ``system``, whose workflows runs are."""
    with api_client(system, processes.create_api_key(system.env, "system")) as client:
        yield client


@pytest.fixture
def start_scheduler(
    system: System, system_client: httpx.Client, tmp_path: Path
) -> Iterator[StartScheduler]:
    """Starts scheduler processes from no beat state; afterwards stops them and lets
    their runs finish."""
    with psycopg.connect(system.env["DATABASE_URL"], autocommit=True) as db:
        db.execute("DELETE FROM scheduler.entries")
    started: list[processes.ServiceProcess] = []

    def start(name: str = "scheduler", **env: str) -> processes.ServiceProcess:
        service = processes.start(
            name, ["scheduler"], {**system.env, **system.pooled, **env}, tmp_path
        )
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()
    # The next test's first tick must not be skipped because of a run left from this one.
    wait_until(
        lambda: all(r["status"] in FINISHED for r in scheduled_runs(system_client)),
        60,
        "the scheduled runs to finish",
    )


def scheduled_runs(client: httpx.Client, origin: str = ORIGIN) -> list[dict[str, Any]]:
    """Every workflow of the tenant ``system`` started by ``origin``, newest first."""
    runs: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/workflows", params=params)
        page.raise_for_status()
        body = page.json()
        runs += [item for item in body["items"] if item["origin"] == origin]
        cursor = body["next_cursor"]
        if cursor is None:
            return runs


def runs_per_tick(client: httpx.Client, ticks: list[str]) -> dict[str, int]:
    """How many workflows exist for each tick (its id is derived from schedule and tick)."""
    ids = {str(workflow_id_for(SCHEDULE, parse(tick))): tick for tick in ticks}
    counts = dict.fromkeys(ticks, 0)
    for run in scheduled_runs(client):
        if run["id"] in ids:
            counts[ids[run["id"]]] += 1
    return counts


def recipient() -> str:
    return f"ops-{uuid.uuid4().hex[:10]}@example.com"


def every_two_seconds(to: str) -> dict[str, str]:
    return {
        "SCHEDULE_EMAIL_ACTIVITY": str(EVERY),
        "SCHEDULE_BACKEND_CLEANUP": "off",
        "REPORT_RECIPIENTS": to,
    }


def test_a_schedule_every_two_seconds_runs_workflows_that_mail_the_report(
    start_scheduler: StartScheduler,
    system: System,
    system_client: httpx.Client,
    smtp_sink: SmtpSink,
) -> None:
    to = recipient()
    scheduler = start_scheduler(**every_two_seconds(to))
    processes.wait_for_log(scheduler, "scheduler is the leader")

    mails = smtp_sink.mailbox.wait_for_recipient(to, count=2, timeout=30)
    assert len(mails) >= 2, scheduler.tail()
    sent = ticks_in(scheduler, "tick sent")
    started = [tick for tick in ticks_in(system.api_intake, STARTED) if tick in sent]
    listed = {run["id"] for run in scheduled_runs(system_client)}
    for tick in started[:2]:
        run = wait_for_workflow(system_client, str(workflow_id_for(SCHEDULE, parse(tick))))
        assert run["status"] == "succeeded", run
        assert run["kind"] == "report"
        assert run["origin"] == ORIGIN
        assert [step["name"] for step in run["steps"]] == ["report.generate", "email.send"]
        assert run["id"] in listed  # GET /v1/workflows lists scheduled runs like any other

    message = mails[0].message
    yesterday = (parse(started[0]) - timedelta(days=1)).date().isoformat()
    assert message["Subject"] == f"Your report: email_activity (csv), {yesterday} to {yesterday}"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/csv"
    content = attachment.get_payload(decode=True)
    assert isinstance(content, bytes) and content.startswith(b"day,lane,outcome")
    # The first tick is the first one after the scheduler started, not one from the past.
    assert parse(sent[0]) >= parse(events(scheduler, "scheduler is the leader")[0]["timestamp"])


def test_two_schedulers_send_every_tick_exactly_once(
    start_scheduler: StartScheduler, system: System, system_client: httpx.Client
) -> None:
    env = every_two_seconds(recipient())
    first = start_scheduler("scheduler-a", **env)
    second = start_scheduler("scheduler-b", **env)
    wait_until(lambda: leader_of(first, second), 30, "one scheduler to lead")
    standby = second if leader_of(first, second) is first else first
    processes.wait_for_log(standby, "scheduler on standby")
    time.sleep(20)
    # The standby first: stopped the other way round, it would (rightly) take over.
    standby.stop()
    (first if standby is second else second).stop()

    sent = ticks_in(first, "tick sent") + ticks_in(second, "tick sent")
    assert len(sent) >= 8, sent
    assert Counter(sent).most_common(1)[0][1] == 1, "a tick was sent twice"
    assert contiguous(sent), sorted(sent)
    assert ticks_in(standby, "tick sent") == []
    assert not events(standby, "scheduler is the leader")

    # What the intake saw: each tick once, so no duplicate had to be absorbed.
    intake = system.api_intake
    skipped = ticks_in(intake, SKIPPED)
    wait_until(
        lambda: set(ticks_in(intake, STARTED)) | set(skipped) >= set(sent),
        15,
        "the intake to handle every tick",
    )
    assert not set(ticks_in(intake, DUPLICATE)) & set(sent)
    counts = runs_per_tick(system_client, sent)
    assert {tick for tick, n in counts.items() if n != 1} == set(skipped) & set(sent), counts
    assert max(counts.values()) == 1


def test_when_the_leader_is_killed_the_standby_sends_the_next_ticks_and_none_twice(
    start_scheduler: StartScheduler, system: System, system_client: httpx.Client
) -> None:
    env = every_two_seconds(recipient())
    leader = start_scheduler("scheduler-a", **env)
    processes.wait_for_log(leader, "scheduler is the leader")
    standby = start_scheduler("scheduler-b", **env)
    processes.wait_for_log(standby, "scheduler on standby")
    wait_until(lambda: len(ticks_in(leader, "tick sent")) >= 2, 15, "two ticks from the leader")

    leader.kill()
    killed_at = datetime.now(UTC)
    processes.wait_for_log(standby, "scheduler is the leader", timeout=10)
    took_over = parse(events(standby, "scheduler is the leader")[0]["timestamp"])
    wait_until(lambda: len(ticks_in(standby, "tick sent")) >= 3, 15, "three ticks from the standby")
    standby.stop()

    before, after = ticks_in(leader, "tick sent"), ticks_in(standby, "tick sent")
    # Within a bounded time: the standby asks every second, and the database session of
    # a killed process ends at once (allowing for a busy machine).
    assert (took_over - killed_at).total_seconds() < 5
    # Sent-then-recorded: only a tick the leader sent but could not record may be sent
    # again, and then its workflow already exists.
    resent = set(before) & set(after)
    assert resent <= {max(before)}, (before, after)
    assert min(after) >= max(before)
    assert contiguous(sorted(set(before) | set(after))), (before, after)
    counts = runs_per_tick(system_client, sorted(set(before) | set(after)))
    skipped = set(ticks_in(system.api_intake, SKIPPED))
    assert all(n == 1 for tick, n in counts.items() if tick not in skipped), counts


def test_a_leader_that_loses_its_database_connection_stops_and_a_scheduler_takes_over(
    start_scheduler: StartScheduler, system: System, system_client: httpx.Client
) -> None:
    env = every_two_seconds(recipient())
    first = start_scheduler("scheduler-a", **env)
    second = start_scheduler("scheduler-b", **env)
    leader = wait_until(lambda: leader_of(first, second), 30, "one scheduler to lead")
    wait_until(lambda: len(ticks_in(leader, "tick sent")) >= 2, 15, "two ticks")

    with psycopg.connect(system.env["DATABASE_URL"], autocommit=True) as db:
        terminated = db.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks"
            " WHERE locktype = 'advisory' AND granted AND classid = 0 AND objid = %s"
            " AND objsubid = 1"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (LEADER_LOCK,),
        ).fetchall()
    assert terminated == [(True,)]
    processes.wait_for_log(leader, "scheduler lost the leadership")
    wait_until(
        lambda: sum(len(events(s, "scheduler is the leader")) for s in (first, second)) >= 2,
        10,
        "a scheduler to lead again",
    )
    sent_before = len(ticks_in(first, "tick sent") + ticks_in(second, "tick sent"))
    wait_until(
        lambda: (
            len(ticks_in(first, "tick sent") + ticks_in(second, "tick sent")) >= sent_before + 2
        ),
        15,
        "two more ticks",
    )
    first.stop()
    second.stop()

    sent = ticks_in(first, "tick sent") + ticks_in(second, "tick sent")
    assert len(sent) - len(set(sent)) <= 1, sorted(sent)
    assert contiguous(sorted(set(sent))), sorted(sent)
    counts = runs_per_tick(system_client, sorted(set(sent)))
    assert max(counts.values()) == 1, counts


def test_a_tick_that_fires_while_the_previous_run_is_unfinished_is_skipped_and_logged(
    start_scheduler: StartScheduler,
    system: System,
    system_client: httpx.Client,
    smtp_sink: SmtpSink,
) -> None:
    to = recipient()
    # The first run's email is deferred three times (retried 1 to 2 s apart), so it is
    # still unfinished when the next tick, two seconds later, fires.
    smtp_sink.mailbox.scripted_replies.extend(["451 4.3.0 try again later"] * 3)
    scheduler = start_scheduler(**every_two_seconds(to))
    skips = wait_until(
        lambda: [
            r
            for r in events(system.api_intake, SKIPPED)
            if r["schedule"] == SCHEDULE and r["tick"] in ticks_in(scheduler, "tick sent")
        ],
        30,
        "a skipped tick",
    )
    first_run = wait_for_workflow(system_client, skips[0]["unfinished"], timeout=30)
    wait_until(lambda: len(smtp_sink.mailbox.addressed_to(to)) >= 2, 30, "a run after the skip")
    scheduler.stop()

    assert first_run["status"] == "succeeded", first_run
    assert first_run["steps"][1]["attempts"] == 4
    skipped = parse(skips[0]["tick"])
    assert skipped < parse(first_run["finished_at"])
    missing = system_client.get(f"/v1/workflows/{skips[0]['workflow_id']}")
    assert missing.status_code == 404
    assert skips[0]["workflow_id"] == str(workflow_id_for(SCHEDULE, skipped))


def test_the_result_clean_up_deletes_expired_results(
    start_scheduler: StartScheduler, system: System
) -> None:
    expired, recent = f"expired-{uuid.uuid4()}", f"recent-{uuid.uuid4()}"
    insert = (
        "INSERT INTO celery_taskmeta (id, task_id, status, date_done)"
        " VALUES (nextval('task_id_sequence'), %s, 'SUCCESS', timezone('utc', now()) - %s)"
    )
    with psycopg.connect(system.env["DATABASE_URL"], autocommit=True) as db:
        db.execute(insert, (expired, timedelta(days=8)))
        db.execute(insert, (recent, timedelta(days=6)))

        def remaining() -> set[str]:
            rows = db.execute(
                "SELECT task_id FROM celery_taskmeta WHERE task_id = ANY(%s)", ([expired, recent],)
            ).fetchall()
            return {row[0] for row in rows}

        scheduler = start_scheduler(
            SCHEDULE_BACKEND_CLEANUP="2", SCHEDULE_EMAIL_ACTIVITY="off", REPORT_RECIPIENTS=""
        )
        wait_until(lambda: remaining() == {recent}, 20, "the expired result to be deleted")
    scheduler.stop()
    assert ticks_in(scheduler, "tick sent", schedule="backend_cleanup")
    assert "Task celery.backend_cleanup[" in system.api_intake.logs()
