"""The status page ``/ui`` in headless Chromium: a tenant's workflows with their steps.

Chromium opens ``/ui#key=<key>`` (a fragment: the key never reaches a server log), the
page moves the key to sessionStorage and reads the JSON API with it. The tests read the
rendered DOM (``--dump-dom``) and a screenshot, whose green "succeeded" badges they
count, and change the filters and open a workflow over the DevTools protocol.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.conftest import System, api_client
from tests.support import processes
from tests.support.browser import WINDOW, Chromium, Tab, browse
from tests.support.polling import wait_for_workflow
from tests.support.smtp_sink import SmtpSink

pytestmark = pytest.mark.e2e

#: The background of a "succeeded" badge (style.css, .status-succeeded).
SUCCEEDED_GREEN = (0x1A, 0x7F, 0x37)


@pytest.fixture
def tenant_client(system: System) -> httpx.Client:
    """A client of a fresh tenant: the page shows its workflows and nobody else's."""
    key = processes.create_api_key(system.env, f"ui-{uuid.uuid4().hex[:8]}")
    return api_client(system, key)


def test_the_status_page_shows_the_tenants_workflows_with_their_steps(
    system: System, tenant_client: httpx.Client, tmp_path: Path
) -> None:
    today = datetime.now(UTC).date().isoformat()
    with tenant_client as client:
        email = client.post(
            "/v1/emails", json={"to": ["ada@example.com"], "subject": "ui", "text": "Hi"}
        )
        chain = client.post(
            "/v1/reports",
            json={
                "kind": "email_activity",
                "period": {"start": today, "end": today},
                "deliver_to": ["grace@example.com"],
            },
        )
        ids = []
        for response in (email, chain):
            assert response.status_code == 202, response.text
            ids.append(response.json()["workflow_id"])
            assert wait_for_workflow(client, ids[-1])["status"] == "succeeded"
        key = client.headers["Authorization"].removeprefix("Bearer ")

    page = httpx.get(f"{system.api_url}/ui")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert key not in page.text
    assert httpx.get(f"{system.api_url}/ui/ui.py").status_code == 404  # only the page's files

    url = f"{system.api_url}/ui#key={key}"
    dom = browse(url, tmp_path / "profile-dom", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    for workflow_id in ids:
        assert f'data-workflow-id="{workflow_id}"' in html, html[-3000:]
    assert html.count('class="step"') == 3  # email.send; report.generate -> email.send
    assert "report.generate" in html and "email.send" in html
    assert html.count('class="badge status-succeeded"') == 5  # 2 workflows + 3 steps
    assert "worker email-worker@" in html and "worker report-worker@" in html
    assert 'id="login" hidden' in html  # the key was taken from the fragment

    screenshot = tmp_path / "ui.png"
    shot = browse(url, tmp_path / "profile-shot", f"--screenshot={screenshot}")
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 10_000
    with Image.open(screenshot) as image:
        assert image.size == WINDOW
        colors = image.convert("RGB").getcolors(maxcolors=WINDOW[0] * WINDOW[1]) or []
    green = sum(count for count, color in colors if color == SUCCEEDED_GREEN)
    # Five badges of roughly 90 x 18 pixels, less their white text.
    assert green > 5 * 500, f"{green} pixels of the succeeded badge's green"


def test_the_status_page_without_a_key_asks_for_one(system: System, tmp_path: Path) -> None:
    dom = browse(f"{system.api_url}/ui", tmp_path / "profile", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert '<form id="login">' in dom.stdout
    assert 'data-workflow-id="' not in dom.stdout


#: The workflows the list shows, top to bottom.
LISTED = "[...document.querySelectorAll('tbody.workflow')].map((row) => row.dataset.workflowId)"


def wait_listed(tab: Tab, ids: list[str]) -> None:
    tab.wait_for(f"{LISTED}.join() === {json.dumps(','.join(ids))}")


def choose(select: str, value: str) -> str:
    """JavaScript that picks ``value`` in a filter, as a user does (a change event)."""
    return (
        f"(() => {{ const s = document.querySelector('{select}'); s.value = '{value}';"
        " s.dispatchEvent(new Event('change', {bubbles: true})); return true; })()"
    )


def test_the_filters_change_the_list_and_a_row_opens_the_workflow(
    system: System, tenant_client: httpx.Client, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    today = datetime.now(UTC).date().isoformat()
    with tenant_client as client:

        def finished(path: str, body: dict[str, object]) -> str:
            response = client.post(path, json=body)
            assert response.status_code == 202, response.text
            return str(wait_for_workflow(client, response.json()["workflow_id"])["id"])

        sent = finished("/v1/emails", {"to": ["ada@example.com"], "subject": "ok", "text": "x"})
        # The next SMTP transaction, this email's, is refused for good.
        smtp_sink.mailbox.scripted_replies.append("554 5.7.1 message refused")
        refused = finished("/v1/emails", {"to": ["bob@example.com"], "subject": "no", "text": "x"})
        period = {"start": today, "end": today}
        report = finished("/v1/reports", {"kind": "email_activity", "period": period})
        assert client.get(f"/v1/workflows/{refused}").json()["status"] == "failed"
        key = client.headers["Authorization"].removeprefix("Bearer ")

    with Chromium(tmp_path / "profile", tmp_path / "chromium.log") as browser:
        tab = browser.open(f"{system.api_url}/ui#key={key}")
        wait_listed(tab, [report, refused, sent])  # newest first

        tab.evaluate(choose("#filter-status", "failed"))
        wait_listed(tab, [refused])
        assert tab.evaluate("location.hash") == "#status=failed"

        tab.evaluate(choose("#filter-status", ""))
        tab.evaluate(choose("#filter-kind", "email"))
        wait_listed(tab, [refused, sent])
        tab.evaluate(choose("#filter-kind", "report"))
        wait_listed(tab, [report])

        tab.click(f"tbody[data-workflow-id='{report}'] tr.summary td:nth-child(2)")
        tab.wait_for(
            f'document.querySelector(\'#detail[data-workflow-id="{report}"]'
            '[data-status="succeeded"]\') !== null'
        )
        assert tab.evaluate("document.querySelector('#list').hidden") is True
        assert tab.evaluate("location.hash") == f"#workflow={report}"
        tab.click("#back")
        tab.wait_for("document.querySelector('#list').hidden === false")
        wait_listed(tab, [report])  # back to the list as it was, filtered
        assert tab.evaluate("document.querySelector('#filter-kind').value") == "report"
        assert tab.refusals() == []
