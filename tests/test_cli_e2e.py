"""`swy` as a consumer runs it: a real process against the running system, the API's
address and key from the environment, tables for people and the API's JSON with --json."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import System
from tests.support.polling import wait_for_workflow
from tests.support.processes import BIN
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
TODAY = datetime.now(UTC).date()
START, END = (TODAY - timedelta(days=30)).isoformat(), TODAY.isoformat()
ACCEPTED = re.compile(r"^accepted: workflow (\S+)$", re.MULTILINE)
REPORT = re.compile(r"^report (\S+): swy reports download", re.MULTILINE)


def environment(system: System, key: str | None) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("SWITCHYARD")}
    env["SWITCHYARD_URL"] = system.api_url
    if key is not None:
        env["SWITCHYARD_API_KEY"] = key
    return env


def swy(
    system: System,
    *args: str,
    key: str | None = "",
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``swy`` (``key``: the session's key when empty, none at all when None)."""
    return subprocess.run(
        [str(BIN / "swy"), *args],
        env=environment(system, system.api_key if key == "" else key),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def succeeds(system: System, *args: str, cwd: Path | None = None) -> str:
    ran = swy(system, *args, cwd=cwd)
    assert ran.returncode == 0, f"swy {' '.join(args)}: {ran.returncode}\n{ran.stdout}{ran.stderr}"
    assert ran.stderr == ""
    return ran.stdout


def as_json(system: System, *args: str) -> Any:
    return json.loads(succeeds(system, *args, "--json"))


def refused(ran: subprocess.CompletedProcess[str], detail: str, status: int) -> None:
    """The run failed, printing the API's detail and status, and no traceback."""
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert ran.stderr.strip() == f"error: {detail} (HTTP {status})"
    assert "Traceback" not in ran.stdout + ran.stderr


def send(system: System, subject: str, *, json_out: bool = False) -> str:
    args = ["emails", "send", "--to", f"ada+{uuid.uuid4().hex[:8]}@example.com"]
    args += ["--subject", subject, "--text", "Hello from swy"]
    if json_out:
        return str(as_json(system, *args)["workflow_id"])
    match = ACCEPTED.search(succeeds(system, *args))
    assert match, "no workflow id printed"
    return match.group(1)


def test_an_email_sent_is_followed_live_to_succeeded(system: System, smtp_sink: SmtpSink) -> None:
    subject = f"swy {uuid.uuid4()}"
    workflow_id = send(system, subject)
    shown = succeeds(system, "workflows", "wait", workflow_id, "--timeout", "60").splitlines()
    # Off a terminal each document seen is one line; the last is the finished one.
    assert shown[-1] == f"{workflow_id} succeeded 1/1: email.send succeeded"
    assert all(line.startswith(f"{workflow_id} ") for line in shown)
    [received] = smtp_sink.mailbox.wait_for(subject)
    text = received.message.get_body(preferencelist=("plain",))
    assert text is not None and text.get_content().strip() == "Hello from swy"

    table = succeeds(system, "workflows", "get", workflow_id)
    assert f"email {workflow_id}  succeeded  1/1 steps done" in table
    assert re.search(r"^email\.send\s+succeeded\s+1\s+email-worker@", table, re.MULTILINE)


def test_json_is_the_apis_own(system: System, client: httpx.Client) -> None:
    workflow_id = send(system, f"swy json {uuid.uuid4()}", json_out=True)
    final = as_json(system, "workflows", "wait", workflow_id, "--timeout", "60")
    assert (final["id"], final["status"]) == (workflow_id, "succeeded")
    assert [step["name"] for step in final["steps"]] == ["email.send"]
    stored = client.get(f"/v1/workflows/{workflow_id}").json()
    assert as_json(system, "workflows", "get", workflow_id) == stored
    assert final["finished_at"] is not None and final["steps"][0]["status"] == "succeeded"


def test_workflows_are_listed_newest_first(system: System) -> None:
    older = send(system, f"swy ls {uuid.uuid4()}")
    newer = send(system, f"swy ls {uuid.uuid4()}")
    for workflow_id in (older, newer):
        succeeds(system, "workflows", "wait", workflow_id, "--timeout", "60")

    page = as_json(system, "workflows", "ls", "--kind", "email", "--status", "succeeded")
    ids = [item["id"] for item in page["items"]]
    assert ids.index(newer) < ids.index(older)
    assert {item["status"] for item in page["items"]} == {"succeeded"}
    first = as_json(system, "workflows", "ls", "--kind", "email", "--limit", "1")
    assert [item["id"] for item in first["items"]] == [newer]
    cursor = first["next_cursor"]
    second = as_json(
        system, "workflows", "ls", "--kind", "email", "--limit", "1", "--cursor", cursor
    )
    assert [item["id"] for item in second["items"]] == [older]

    table = succeeds(system, "workflows", "ls", "--kind", "email", "--limit", "2")
    header, *rows = table.splitlines()
    assert header.split() == ["id", "kind", "status", "steps", "done", "created"]
    assert [row.split()[:3] for row in rows[:2]] == [
        [newer, "email", "succeeded"],
        [older, "email", "succeeded"],
    ]
    paged = succeeds(system, "workflows", "ls", "--kind", "email", "--limit", "1")
    assert paged.splitlines()[-1] == f"more: swy workflows ls --cursor {cursor}"


def test_a_report_is_built_and_downloaded(
    system: System, client: httpx.Client, tmp_path: Path
) -> None:
    shown = succeeds(
        system, "reports", "create", "--kind", "email_activity", "--start", START, "--end", END
    )
    workflow_match, report_match = ACCEPTED.search(shown), REPORT.search(shown)
    assert workflow_match and report_match, shown
    workflow_id, report_id = workflow_match.group(1), report_match.group(1)
    succeeds(system, "workflows", "wait", workflow_id, "--timeout", "120")
    metadata = client.get(f"/v1/reports/{report_id}").json()
    content = client.get(f"/v1/reports/{report_id}/content").content

    saved = succeeds(system, "reports", "download", report_id, cwd=tmp_path)
    named = tmp_path / metadata["filename"]
    assert saved.strip() == (
        f"saved {metadata['filename']} ({metadata['bytes']} bytes, {metadata['rows']} rows, "
        f"{metadata['content_type']})"
    )
    assert named.read_bytes() == content
    assert content.startswith(b"day,")

    chosen = tmp_path / "november.csv"
    printed = as_json(system, "reports", "download", report_id, "-o", str(chosen))
    assert printed == {**metadata, "path": str(chosen)}
    assert chosen.read_bytes() == content


def test_a_report_requested_as_json(system: System) -> None:
    accepted = as_json(
        system,
        "reports",
        "create",
        "--kind",
        "workflow_summary",
        "--start",
        START,
        "--end",
        END,
        "--format",
        "json",
    )
    assert accepted["status_url"] == f"/v1/workflows/{accepted['workflow_id']}"
    [report_id] = accepted["report_ids"]
    final = as_json(system, "workflows", "wait", accepted["workflow_id"], "--timeout", "120")
    assert final["status"] == "succeeded"
    assert final["steps"][0]["result"]["report_id"] == report_id


def test_a_wait_runs_out_of_time_and_a_cancel_ends_the_workflow(
    system: System, client: httpx.Client, smtp_sink: SmtpSink
) -> None:
    # While the sink holds every SMTP transaction the emails cannot finish. They are sent
    # straight to the API, to keep the hold well inside the worker's SMTP timeout.
    def email() -> str:
        body = {"to": ["ada@example.com"], "subject": f"swy held {uuid.uuid4()}", "text": "Hi"}
        return str(client.post("/v1/emails", json=body).json()["workflow_id"])

    smtp_sink.mailbox.hold()
    try:
        held, other = email(), email()
        wait_for_workflow(client, held, {"running"}, timeout=30, settled=False)

        late = swy(system, "workflows", "wait", held, "--timeout", "2")
        assert late.returncode == 124, late.stdout + late.stderr
        assert late.stdout.splitlines() == [f"{held} running 0/1: email.send running"]
        assert (
            late.stderr.strip()
            == f"error: workflow {held} did not finish within 2s (still running)"
        )

        assert f"email {held}  cancelled" in succeeds(system, "workflows", "cancel", held)
        document = as_json(system, "workflows", "cancel", other)
        assert (document["id"], document["status"]) == (other, "cancelled")
        refused(swy(system, "workflows", "cancel", held), "workflow already cancelled", 409)
        ended = swy(system, "workflows", "wait", held, "--timeout", "30")
        assert ended.returncode == 1
        assert ended.stderr.startswith(f"workflow {held} cancelled")
    finally:
        smtp_sink.mailbox.release()


def test_on_a_terminal_wait_redraws_the_steps_in_place(system: System) -> None:
    workflow_id = send(system, f"swy tty {uuid.uuid4()}")
    env = {**environment(system, system.api_key), "TERM": "xterm-256color", "COLUMNS": "120"}
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [str(BIN / "swy"), "workflows", "wait", workflow_id, "--timeout", "60"],
        env=env,
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    screen = b""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the process has exited
                break
            if not chunk:
                break
            screen += chunk
        elif process.poll() is not None:
            break
    os.close(leader)
    assert process.wait(10) == 0, screen.decode(errors="replace")
    text = screen.decode(errors="replace")
    assert "\x1b[" in text  # drawn with terminal control sequences, not printed line by line
    assert re.search(r"email\.send\s+\S*succeeded", re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text))
    assert f"{workflow_id} succeeded 1/1" not in text


def test_the_committed_description_is_the_one_the_api_serves(client: httpx.Client) -> None:
    # `just client` builds it without a server: the served one must not differ from it.
    committed = json.loads((ROOT / "libs" / "client" / "openapi.json").read_text())
    assert client.get("/openapi.json").json() == committed


@pytest.mark.parametrize(
    ("command", "detail"),
    [
        (["workflows", "get"], "workflow not found"),
        (["workflows", "wait"], "workflow not found"),
        (["workflows", "cancel"], "workflow not found"),
        (["reports", "download"], "report not found (a report exists once its step succeeded)"),
    ],
)
def test_an_unknown_id_prints_the_apis_words(
    system: System, command: list[str], detail: str
) -> None:
    refused(swy(system, *command, str(uuid.uuid4())), detail, 404)
    refused(swy(system, *command, str(uuid.uuid4()), "--json"), detail, 404)


COMMANDS = [
    ["emails", "send", "--to", "ada@example.com", "--subject", "Hi", "--text", "Hi"],
    ["reports", "create", "--kind", "email_activity", "--start", START, "--end", END],
    ["reports", "download", str(uuid.uuid4())],
    ["workflows", "get", str(uuid.uuid4())],
    ["workflows", "ls"],
    ["workflows", "wait", str(uuid.uuid4())],
    ["workflows", "cancel", str(uuid.uuid4())],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: " ".join(command[:2]))
def test_a_bad_key_is_refused_with_the_apis_words(system: System, command: list[str]) -> None:
    refused(swy(system, *command, key="swy_not_a_key"), "invalid or revoked API key", 401)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: " ".join(command[:2]))
def test_a_missing_key_is_named(system: System, command: list[str]) -> None:
    ran = swy(system, *command, "--json", key=None)
    assert ran.returncode == 2
    assert ran.stdout == ""
    assert ran.stderr.startswith("error: SWITCHYARD_API_KEY is not set")


def test_a_request_the_api_refuses_names_the_field(system: System) -> None:
    ran = swy(
        system, "reports", "create", "--kind", "email_activity", "--start", END, "--end", START
    )
    assert ran.returncode == 1
    assert ran.stderr.startswith("error: body.period: ")
    assert ran.stderr.rstrip().endswith("(HTTP 422)")
    assert "Traceback" not in ran.stderr
