"""Less exposed: metrics on a port of their own, the docs page served entirely by the API
under a strict policy, nosniff and frame-ancestors on every response, and no internal
host or port in an error a tenant sees."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.conftest import TENANT, System
from tests.support import processes
from tests.support.browser import browse
from tests.support.polling import eventually
from tests.support.prometheus import samples, value
from tests.support.smtp_sink import free_port

pytestmark = pytest.mark.e2e


def email(subject: str) -> dict[str, Any]:
    return {"to": ["ada@example.com"], "subject": subject, "text": "Hello"}


# --- metrics --------------------------------------------------------------------------


def test_metrics_are_not_on_the_public_port(client: httpx.Client) -> None:
    assert client.get("/metrics").status_code == 404


def test_one_scrape_counts_every_server_process(system: System) -> None:
    def healthz_calls() -> float:
        found = samples(system.api_metrics_url)
        return value(found, "http_requests_total", handler="/healthz", method="GET", status="2xx")

    before = healthz_calls()
    for _ in range(20):
        # A connection each: whichever server process accepts it answers.
        assert httpx.get(f"{system.api_url}/healthz", timeout=10).status_code == 200

    assert healthz_calls() == before + 20
    assert value(samples(system.api_metrics_url), "switchyard_api_server_processes") == 2


@pytest.fixture
def own_api(migrated: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, str, int]]:
    """An API of this test's own (two server processes): its URL, its metrics' URL and
    the supervisor's pid."""
    port, metrics_port = free_port(), free_port()
    env = {
        **migrated,
        "API_PORT": str(port),
        "API_WORKERS": "2",
        "METRICS_PORT": str(metrics_port),
    }
    api = processes.start("api-own", ["api"], env, tmp_path)
    try:
        processes.wait_until_ready(api, f"http://127.0.0.1:{port}/healthz")
        yield (
            f"http://127.0.0.1:{port}",
            f"http://127.0.0.1:{metrics_port}/metrics",
            api.process.pid,
        )
    finally:
        api.stop()


def servers(supervisor: int, metrics_url: str) -> set[int]:
    """The supervisor's server processes: its children but the one serving metrics."""
    metrics_port = int(metrics_url.rsplit(":", 1)[1].split("/")[0])
    found = set()
    for child in psutil.Process(supervisor).children():
        try:
            connections = child.net_connections("tcp")
        except psutil.NoSuchProcess:
            continue  # the one just killed, gone between the listing and the look
        listening = {c.laddr.port for c in connections if c.status == psutil.CONN_LISTEN}
        if metrics_port not in listening:
            found.add(child.pid)
    return found


def test_a_server_process_that_dies_is_replaced_and_counted_once(
    own_api: tuple[str, str, int],
) -> None:
    api_url, metrics_url, supervisor = own_api
    eventually(lambda: len(servers(supervisor, metrics_url)) == 2)
    first = servers(supervisor, metrics_url)
    assert value(samples(metrics_url), "switchyard_api_server_processes") == 2

    killed = min(first)
    os.kill(killed, signal.SIGKILL)

    def replaced() -> bool:
        now = servers(supervisor, metrics_url)
        if killed in now or len(now) != 2:
            return False
        # The new process counts itself once it started; the dead one no longer counts.
        return value(samples(metrics_url), "switchyard_api_server_processes") == 2

    eventually(replaced)
    assert httpx.get(f"{api_url}/healthz", timeout=10).status_code == 200


def test_a_metrics_port_in_use_stops_the_api_naming_it(migrated: dict[str, str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = subprocess.run(
            [str(processes.BIN / "api")],
            env={
                **os.environ,
                **migrated,
                "API_PORT": str(free_port()),
                "METRICS_PORT": str(port),
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2, result.stderr
    assert "METRICS_PORT" in result.stderr
    assert "Traceback" not in result.stderr


# --- the docs page ----------------------------------------------------------------------


class Page(HTMLParser):
    """The scripts and stylesheets a page loads, and any script written inline."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.inline_scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            self._in_script = found.get("src") is None
            if found.get("src"):
                self.loads.append(str(found["src"]))
        elif tag == "link" and found.get("href"):
            self.loads.append(str(found["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data)


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in filter(None, (part.strip() for part in policy.split(";"))):
        name, *sources = directive.split()
        parsed[name] = sources
    return parsed


def test_the_docs_page_loads_only_what_the_api_serves_under_a_self_only_policy(
    system: System,
) -> None:
    page = httpx.get(f"{system.api_url}/docs", timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")

    [policy] = page.headers.get_list("content-security-policy")
    given = directives(policy)
    assert given["default-src"] == ["'none'"]
    assert given["script-src"] == ["'self'"]
    assert given["frame-ancestors"] == ["'none'"]
    for name, sources in given.items():
        for source in sources:
            # data: images are Swagger UI's icons, written in its stylesheet.
            allowed = source in ("'self'", "'none'") or (name == "img-src" and source == "data:")
            assert allowed, f"{name} allows {source}"

    parsed = Page()
    parsed.feed(page.text)
    assert parsed.inline_scripts == []
    assert "/docs/init.js" in parsed.loads
    assert len(parsed.loads) >= 3, parsed.loads
    for url in parsed.loads:
        assert url.startswith("/"), f"{url} is not this origin's"
        # Without a key, like the page itself.
        asset = httpx.get(f"{system.api_url}{url}", timeout=10)
        assert asset.status_code == 200, url
        assert asset.headers["x-content-type-options"] == "nosniff"
        kind = asset.headers["content-type"]
        if url.endswith(".js"):
            assert "javascript" in kind, (url, kind)
        elif url.endswith(".css"):
            assert kind.startswith("text/css"), (url, kind)

    start = httpx.get(f"{system.api_url}/docs/init.js", timeout=10).text
    assert "http" not in start.replace("openapi.json", "")
    assert httpx.get(f"{system.api_url}/openapi.json", timeout=10).json()["openapi"]


def test_swagger_ui_renders_the_api_in_chromium_without_breaking_the_policy(
    system: System, tmp_path: Path
) -> None:
    # Deep-linked to an operation, which opens with its selects (styled with data: images);
    # the console (on stderr) is where Chromium reports what the policy refused.
    shown = browse(
        f"{system.api_url}/docs#/emails/send_email",
        tmp_path / "profile",
        "--enable-logging=stderr",
        "--v=0",
        "--dump-dom",
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    dom = shown.stdout
    assert 'class="title">Switchyard API' in dom, dom[-2000:]
    for path in ("/v1/emails", "/v1/workflows/{workflow_id}"):
        assert f'data-path="{path}"' in dom, path
    assert "is-open" in dom and "<select" in dom, "the linked operation did not open"
    refused = [line for line in shown.stderr.splitlines() if "Content Security Policy" in line]
    assert refused == []


def test_there_is_no_redoc_page_nor_oauth_redirect(system: System) -> None:
    for path in ("/redoc", "/docs/oauth2-redirect"):
        assert httpx.get(f"{system.api_url}{path}", timeout=10).status_code == 404, path


# --- headers on every response ----------------------------------------------------------


def test_every_response_carries_nosniff_and_frame_ancestors_none(
    system: System, client: httpx.Client
) -> None:
    anonymous = httpx.Client(base_url=system.api_url, timeout=10)
    accepted = client.post("/v1/emails", json=email(f"headers {uuid.uuid4().hex[:8]}"))
    status_url = accepted.json()["status_url"]
    read = client.get(status_url)
    responses = {
        "202 submission (fast path)": (accepted, 202),
        "200 status read (fast path)": (read, 200),
        "304 unchanged status": (
            client.get(status_url, headers={"If-None-Match": read.headers["ETag"]}),
            304,
        ),
        "401 without a key": (anonymous.get("/v1/workflows"), 401),
        "404 unknown path": (client.get("/nowhere"), 404),
        "422 bad body": (client.post("/v1/emails", json={"subject": "no recipients"}), 422),
        "200 list": (client.get("/v1/workflows"), 200),
        "healthz": (anonymous.get("/healthz"), 200),
        "openapi": (anonymous.get("/openapi.json"), 200),
        "docs": (anonymous.get("/docs"), 200),
        "docs asset": (anonymous.get("/docs/assets/swagger-ui.css"), 200),
        "status page": (anonymous.get("/ui"), 200),
        "status page script": (anonymous.get("/ui/app.js"), 200),
    }
    anonymous.close()
    for name, (response, status) in responses.items():
        assert response.status_code == status, (name, response.text)
        assert response.headers.get_list("x-content-type-options") == ["nosniff"], name
        [policy] = response.headers.get_list("content-security-policy")
        assert directives(policy)["frame-ancestors"] == ["'none'"], (name, policy)


# --- errors a tenant sees ---------------------------------------------------------------


def test_errors_name_no_internal_host_or_port_which_stay_in_the_logs(
    migrated: dict[str, str], tmp_path: Path
) -> None:
    """Database and broker unreachable: every answer is a 503 a client can act on; what
    failed, and where, is for the operator's logs only."""
    key = processes.create_api_key(migrated, TENANT)
    port, database_port, broker_port = free_port(), free_port(), free_port()
    host = "127.0.0.1"
    env = {
        **migrated,
        "DATABASE_URL": f"postgresql://postgres@{host}:{database_port}/switchyard",
        "AMQP_URL": f"amqp://guest:guest@{host}:{broker_port}//",
        "API_PORT": str(port),
        "API_WORKERS": "1",
    }
    api = processes.start("api-cut-off", ["api"], env, tmp_path)
    try:
        processes.wait_until_ready(api, f"http://{host}:{port}/healthz")
        with httpx.Client(
            base_url=f"http://{host}:{port}", timeout=15, headers=processes.bearer(key)
        ) as http:
            answers = {
                "submit (fast path)": http.post("/v1/emails", json=email("cut off")),
                "read (fast path)": http.get(f"/v1/workflows/{uuid.uuid4()}"),
                "list": http.get("/v1/workflows"),
                "submit with a key": http.post(
                    "/v1/emails", json=email("cut off"), headers={"Idempotency-Key": "k-1"}
                ),
                "readyz": http.get("/readyz"),
            }
        for name, response in answers.items():
            assert response.status_code == 503, (name, response.text)
            for internal in (host, "localhost", str(database_port), str(broker_port)):
                assert internal not in response.text, (name, response.text)
            assert "Traceback" not in response.text
        # The operator's log has the error itself, for each request that met it.
        logged = [line for line in api.logs().splitlines() if "database unreachable" in line]
        assert len(logged) >= 4, api.tail()
        assert all("Connection refused" in line for line in logged), logged
    finally:
        api.stop()
