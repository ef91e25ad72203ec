"""What the dashboard and the alert rules read is what the running services export.

The session's services (the API with two server processes, both workers) do some work;
then one scrape of each must hold every series the dashboard and the rules name, with
the labels their selectors match on; and a real Prometheus (Debian's) scraping them with
the profile's jobs and rules finds every target up, evaluates every rule without error,
and answers every panel's query with data.
"""

from __future__ import annotations

import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import System, api_client
from tests.support.monitoring import (
    dashboard_expressions,
    prometheus_server,
    rule_expressions,
    scrape_config_for,
)
from tests.support.polling import wait_for_workflow
from tests.support.prometheus import Samples, samples

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def endpoints(system: System, worker_metrics: dict[str, str]) -> Iterator[dict[str, str]]:
    """``{job: metrics URL}`` once an email and a report went through and were counted."""
    today = datetime.now(UTC).date().isoformat()
    with api_client(system) as client:
        accepted = [
            client.post(
                "/v1/emails",
                json={"to": ["ops@example.com"], "subject": uuid.uuid4().hex, "text": "Hi"},
            ),
            client.post(
                "/v1/reports",
                json={"kind": "workflow_summary", "period": {"start": today, "end": today}},
            ),
        ]
        for response in accepted:
            assert response.status_code == 202, response.text
            assert wait_for_workflow(client, response.json()["workflow_id"])["status"] == (
                "succeeded"
            )
    yield {
        "api": system.api_metrics_url,
        **{service: f"http://127.0.0.1:{port}/metrics" for service, port in worker_metrics.items()},
    }


def labels_by_name(found: Samples) -> dict[str, set[str]]:
    names: dict[str, set[str]] = {}
    for name, labels in found:
        names.setdefault(name, set()).update(label for label, _ in labels)
    return names


def test_every_series_the_dashboard_and_the_rules_read_is_exported(
    endpoints: dict[str, str],
) -> None:
    scraped = {job: labels_by_name(samples(url)) for job, url in endpoints.items()}
    exported: dict[str, set[str]] = {}
    for names in scraped.values():
        for name, labels in names.items():
            exported.setdefault(name, set()).update(labels)
    expressions = dashboard_expressions() + rule_expressions()
    read = {name for expression in expressions for name in expression.metrics()}
    for expression in expressions:
        missing = expression.metrics() - set(exported)
        assert not missing, f"{expression.where} reads {sorted(missing)}: no service exports it"
        for series, label in expression.matched_labels():
            if series in exported:
                assert label in exported[series], f"{expression.where}: {series} has no {label}"
    # The API and each worker serve something the dashboard or the rules read.
    for job, names in scraped.items():
        assert read & set(names), f"nothing {job} exports is read"


def settle(problems: Callable[[], list[str]], timeout: float = 60.0) -> None:
    """Wait until ``problems()`` finds none; fail with the last ones."""
    deadline = time.monotonic() + timeout
    while found := problems():
        assert time.monotonic() < deadline, "\n".join(found)
        time.sleep(1)


def test_prometheus_scrapes_every_service_and_answers_every_panel(
    endpoints: dict[str, str], tmp_path: Path
) -> None:
    targets = {job: urllib.parse.urlsplit(url).netloc for job, url in endpoints.items()}
    config = scrape_config_for(targets, interval="2s")
    with prometheus_server(config, tmp_path) as url, httpx.Client(base_url=url) as prometheus:

        def api(path: str, **params: str) -> Any:
            response = prometheus.get(f"/api/v1/{path}", params=params, timeout=10)
            assert response.status_code == 200, response.text
            return response.json()["data"]

        def targets_down() -> list[str]:
            active = api("targets")["activeTargets"]
            found = {target["labels"]["job"] for target in active}
            return [f"{job}: not a target (yet)" for job in set(targets) - found] + [
                f"{t['scrapeUrl']}: {t['health']} {t['lastError']}"
                for t in active
                if t["health"] != "up"
            ]

        def rules_not_evaluated() -> list[str]:
            rules = [rule for group in api("rules")["groups"] for rule in group["rules"]]
            if len(rules) != len(rule_expressions()):
                return [f"{len(rules)} rules loaded of {len(rule_expressions())}"]
            return [
                f"{rule['name']}: {rule['health']} {rule.get('lastError', '')}"
                for rule in rules
                if rule["health"] != "ok"
            ]

        def panels_without_data() -> list[str]:
            return [
                f"{expression.where}: no data for {expression.for_prometheus()}"
                for expression in dashboard_expressions()
                if not api("query", query=expression.for_prometheus())["result"]
            ]

        settle(targets_down)
        settle(rules_not_evaluated)
        # A rate needs two scrapes, a recorded series one evaluation after them.
        settle(panels_without_data)
