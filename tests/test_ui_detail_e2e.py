"""The status page's detail view in headless Chromium, driven over the DevTools protocol.

Chromium opens ``/ui#key=<key>&workflow=<id>``: the view follows the workflow's stream
and draws its timeline. The tests read the bars' geometry from the DOM and compare it
with the document's times, click what a user clicks (a download, the cancel button) and
look at a screenshot's pixels where the DOM says each bar is.
"""

from __future__ import annotations

import io
import itertools
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from celery import Celery
from PIL import Image

from switchyard_runtime.celery_app import create_celery_app
from switchyard_runtime.settings import PlatformSettings
from tests.conftest import System
from tests.support.browser import WINDOW, Chromium, Tab
from tests.support.polling import wait_for_workflow
from tests.support.smtp_sink import SmtpSink
from tests.test_events_e2e import _unpublished_workflow

pytestmark = pytest.mark.e2e

#: The timeline's colours (style.css): a step waiting, running, and a failed step's run.
WAITING = (0xE8, 0xA3, 0x3D)
RUNNING = (0x2F, 0x6F, 0xDE)
FAILED_RUN = (0xD1, 0x24, 0x2F)

#: Each step's lane as drawn: its bars relative to the track, in CSS pixels.
LANES = """
[...document.querySelectorAll("#timeline .lane:not(.axis)")].map((lane) => {
  const track = lane.querySelector(".track").getBoundingClientRect();
  const box = (selector) => {
    const bar = lane.querySelector(selector);
    if (!bar) return null;
    const r = bar.getBoundingClientRect();
    return {left: r.left - track.left, width: r.width, x: r.x, y: r.y, height: r.height};
  };
  return {
    task_id: lane.dataset.taskId, status: lane.dataset.status, track: track.width,
    waiting: box(".bar.waiting"), running: box(".bar.running"),
    marker: lane.querySelector(".marker")?.title ?? null,
    times: lane.querySelector(".lane-times").textContent,
  };
})
"""


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Chromium]:
    with Chromium(tmp_path / "profile", tmp_path / "chromium.log") as browser:
        yield browser


def open_detail(browser: Chromium, system: System, workflow_id: str, status: str) -> Tab:
    """The detail view of a workflow, once it shows ``status``."""
    tab = browser.open(f"{system.api_url}/ui#key={system.api_key}&workflow={workflow_id}")
    tab.wait_for(f"document.querySelector('#detail[data-status=\"{status}\"]') !== null")
    return tab


def ms(moment: str) -> int:
    """A document's time in whole milliseconds, as JavaScript's ``Date`` reads it."""
    return int(datetime.fromisoformat(moment).astimezone(UTC).timestamp() * 1000)


def expected_bars(document: dict[str, Any]) -> list[tuple[int, int, int]]:
    """Each step as (queued, started, finished) in ms. Consecutive steps of one task are
    a stage (a group); the first stage is queued when the workflow was created, each next
    one when the last step of the stage before it finished (a chain's next step, a
    chord's callback)."""
    stages = [list(steps) for _, steps in itertools.groupby(document["steps"], itemgetter("name"))]
    queued = ms(document["created_at"])
    bars = []
    for stage in stages:
        bars += [(queued, ms(step["started_at"]), ms(step["finished_at"])) for step in stage]
        queued = max(ms(step["finished_at"]) for step in stage)
    return bars


def assert_to_scale(lanes: list[dict[str, Any]], document: dict[str, Any]) -> None:
    origin = ms(document["created_at"])
    bars = expected_bars(document)
    span = max([ms(document["finished_at"])] + [finished for _, _, finished in bars]) - origin
    for lane, (queued, started, finished) in zip(lanes, bars, strict=True):
        scale = lane["track"] / span
        for drawn, start, end, least in (
            (lane["waiting"], queued, started, 0),
            # A running bar is at least 2 px wide (style.css): a moment's run still shows.
            (lane["running"], started, finished, 2),
        ):
            assert drawn["left"] == pytest.approx((start - origin) * scale, abs=1.5), lane
            assert drawn["width"] == pytest.approx(max(least, (end - start) * scale), abs=1.5), lane


def colour_at(image: Image.Image, box: dict[str, float]) -> tuple[int, ...]:
    pixel = image.getpixel((int(box["x"] + box["width"] / 2), int(box["y"] + box["height"] / 2)))
    assert isinstance(pixel, tuple)
    return pixel


Box = dict[str, float]


def assert_drawn(png: bytes, bars: list[tuple[Box, tuple[int, int, int]]]) -> None:
    """The screenshot has each bar's colour in the middle of where the DOM says the bar is,
    and about as many pixels of each colour as its bars cover."""
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == WINDOW
        rgb = image.convert("RGB")
    for box, colour in bars:
        assert colour_at(rgb, box) == colour, box
    counts = {colour: count for count, colour in rgb.getcolors(WINDOW[0] * WINDOW[1]) or []}
    for colour in {colour for _, colour in bars}:
        area = sum(box["width"] * box["height"] for box, drawn in bars if drawn == colour)
        assert counts.get(colour, 0) >= 0.8 * area, f"{colour}: {counts.get(colour)} px"


def wait_for_download(folder: Path, timeout: float = 30) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [f for f in folder.glob("*") if not f.name.endswith(".crdownload")]
        if done:
            return done[0]
        time.sleep(0.1)
    raise AssertionError(f"nothing was downloaded into {folder}")


def test_the_timeline_draws_a_chains_steps_to_scale_with_retries_results_and_the_report(
    system: System, client: httpx.Client, smtp_sink: SmtpSink, chromium: Chromium, tmp_path: Path
) -> None:
    # The report's delivery is refused once (451): its email step runs twice.
    smtp_sink.mailbox.scripted_replies.append("451 4.3.0 try again later")
    today = datetime.now(UTC).date().isoformat()
    accepted = client.post(
        "/v1/reports",
        json={
            "kind": "email_activity",
            "period": {"start": today, "end": today},
            "deliver_to": [f"timeline-{uuid.uuid4().hex[:8]}@example.com"],
        },
    )
    assert accepted.status_code == 202, accepted.text
    workflow_id = accepted.json()["workflow_id"]
    [report_id] = accepted.json()["report_ids"]
    document = wait_for_workflow(client, workflow_id)
    assert document["status"] == "succeeded", document
    generate, send = document["steps"]
    assert (generate["attempts"], send["attempts"]) == (1, 2)

    tab = open_detail(chromium, system, workflow_id, "succeeded")
    lanes = tab.evaluate(LANES)
    assert [lane["task_id"] for lane in lanes] == [generate["task_id"], send["task_id"]]
    assert_to_scale(lanes, document)
    assert lanes[0]["marker"] is None and "attempts" not in lanes[0]["times"]
    assert lanes[1]["marker"] == "2 attempts" and "2 attempts" in lanes[1]["times"]
    assert tab.evaluate("document.querySelector('#cancel').hidden") is True

    shown_results = tab.evaluate(
        "[...document.querySelectorAll('#steps code.result')].map((c) => c.textContent)"
    )
    assert [json.loads(text) for text in shown_results] == [generate["result"], send["result"]]
    link = tab.evaluate("document.querySelector('a.download').getAttribute('href')")
    assert link == f"/v1/reports/{report_id}/content"

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    chromium.send(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    tab.click("a.download")
    saved = wait_for_download(downloads)
    content = client.get(link)
    assert saved.read_bytes() == content.content
    assert saved.name == client.get(f"/v1/reports/{report_id}").json()["filename"]

    png = tab.screenshot()
    (tmp_path / "timeline.png").write_bytes(png)
    # A wait of a moment, narrower than a few pixels, is covered by the run after it.
    waits = [(lane["waiting"], WAITING) for lane in lanes if lane["waiting"]["width"] >= 4]
    assert_drawn(png, [(lane["running"], RUNNING) for lane in lanes] + waits)
    assert tab.refusals() == []


def test_the_timeline_starts_a_chords_callback_when_its_group_finished(
    system: System, client: httpx.Client, smtp_sink: SmtpSink, chromium: Chromium, tmp_path: Path
) -> None:
    smtp_sink.mailbox.scripted_replies.append("451 4.3.0 try again later")
    today = datetime.now(UTC).date().isoformat()
    period = {"start": today, "end": today}
    accepted = client.post(
        "/v1/report-batches",
        json={
            "reports": [
                {"kind": "email_activity", "period": period},
                {"kind": "workflow_summary", "period": period, "format": "html"},
                {"kind": "email_activity", "period": period, "format": "json"},
            ],
            "deliver_to": [f"chord-{uuid.uuid4().hex[:8]}@example.com"],
        },
    )
    assert accepted.status_code == 202, accepted.text
    document = wait_for_workflow(client, accepted.json()["workflow_id"])
    assert document["status"] == "succeeded", document
    assert [step["name"] for step in document["steps"]] == ["report.generate"] * 3 + ["email.send"]

    tab = open_detail(chromium, system, document["id"], "succeeded")
    lanes = tab.evaluate(LANES)
    assert_to_scale(lanes, document)
    assert [lane["marker"] for lane in lanes] == [None, None, None, "2 attempts"]
    links = tab.evaluate(
        "[...document.querySelectorAll('a.download')].map((a) => a.getAttribute('href'))"
    )
    assert links == [f"/v1/reports/{id}/content" for id in accepted.json()["report_ids"]]
    # The README's picture of the status page (docs/status-page.png) is this screenshot.
    (tmp_path / "chord.png").write_bytes(tab.screenshot())
    assert tab.refusals() == []


def test_a_failed_workflow_shows_its_error_and_no_cancel_button(
    system: System, client: httpx.Client, smtp_sink: SmtpSink, chromium: Chromium
) -> None:
    smtp_sink.mailbox.scripted_replies.append("554 5.7.1 message refused")
    accepted = client.post(
        "/v1/emails",
        json={"to": ["carol@example.com"], "subject": f"ui {uuid.uuid4().hex[:8]}", "text": "x"},
    )
    document = wait_for_workflow(client, accepted.json()["workflow_id"])
    assert document["status"] == "failed", document

    tab = open_detail(chromium, system, document["id"], "failed")
    [lane] = tab.evaluate(LANES)
    assert lane["status"] == "failed" and lane["running"] is not None
    step_error = tab.evaluate("document.querySelector('#steps .error').textContent")
    assert step_error.startswith("PermanentDeliveryError: ") and "554" in step_error
    workflow_error = tab.evaluate("document.querySelector('.workflow-error').textContent")
    assert workflow_error.startswith("Workflow failed: PermanentDeliveryError: ")
    assert tab.evaluate("document.querySelector('#cancel').hidden") is True
    assert_drawn(tab.screenshot(), [(lane["running"], FAILED_RUN)])
    assert tab.refusals() == []


@pytest.fixture
def celery_app(system: System) -> Iterator[Celery]:
    app = create_celery_app(
        "ui-tests",
        PlatformSettings.model_validate(
            {"amqp_url": system.env["AMQP_URL"], "database_url": system.env["DATABASE_URL"]}
        ),
    )
    yield app
    app.close()


def test_the_cancel_button_cancels_an_unfinished_workflow_and_the_stream_shows_it(
    system: System, client: httpx.Client, celery_app: Celery, chromium: Chromium
) -> None:
    held, _ = anyio.run(_unpublished_workflow, system.env["DATABASE_URL"], celery_app)
    tab = open_detail(chromium, system, str(held), "queued")
    tab.wait_for("document.querySelector('#cancel').hidden === false")
    [lane] = tab.evaluate(LANES)
    assert lane["status"] == "queued" and lane["running"] is None
    assert lane["waiting"]["width"] == pytest.approx(lane["track"], abs=2), "waiting till now"
    assert_drawn(tab.screenshot(), [(lane["waiting"], WAITING)])

    tab.click("#cancel")
    tab.wait_for("document.querySelector('#detail').dataset.status === 'cancelled'")
    assert tab.evaluate("document.querySelector('#cancel').hidden") is True
    [lane] = tab.evaluate(LANES)
    assert lane["status"] == "cancelled"
    assert tab.evaluate("document.querySelector('#steps .error').textContent").startswith(
        "Cancelled: "
    )
    assert client.get(f"/v1/workflows/{held}").json()["status"] == "cancelled"
    assert tab.refusals() == []
