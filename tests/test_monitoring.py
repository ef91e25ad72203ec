"""The monitoring profile's rules, Prometheus config and dashboard, checked by promtool.

``promtool`` comes from Debian's ``prometheus`` package, which ``.ci/run`` installs;
without it these tests fail and say so. What the running services export is checked
against these files in ``tests/test_monitoring_e2e.py``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

from tests.support.monitoring import (
    DASHBOARDS,
    DATASOURCES,
    PROMETHEUS_CONFIG,
    RULE_FILES,
    RULE_TESTS,
    alert_names,
    dashboard,
    dashboard_expressions,
    load_yaml,
    panels,
    recorded_labels,
    recorded_names,
    rule_expressions,
    run_promtool,
)

#: What the issue asks of the alerts; their thresholds are asserted by the rule tests.
ALERTS = {
    "SwitchyardDeadLetters",
    "SwitchyardOutboxBehind",
    "SwitchyardWorkflowFailures",
    "SwitchyardQueueWithoutConsumers",
    "SwitchyardQueuesUnreported",
}


def test_the_alert_rules_are_valid() -> None:
    checked = run_promtool("check", "rules", *map(str, RULE_FILES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert set(alert_names()) == ALERTS


def test_the_prometheus_config_and_the_rule_files_it_loads_are_valid() -> None:
    checked = run_promtool("check", "config", str(PROMETHEUS_CONFIG))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(RULE_FILES)} rule files found" in checked.stdout


def test_each_alert_fires_when_it_should_and_not_otherwise() -> None:
    tested = run_promtool("test", "rules", str(RULE_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    # promtool passes an alert nobody tests: each one needs a case of either kind.
    cases = [
        case for test in load_yaml(RULE_TESTS)["tests"] for case in test.get("alert_rule_test", [])
    ]
    fires = {case["alertname"] for case in cases if case.get("exp_alerts")}
    stays_silent = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    assert fires == stays_silent == set(alert_names())


def test_every_dashboard_expression_is_valid_promql(tmp_path: Path) -> None:
    # promtool parses PromQL in rule files only: each panel's query as a recording rule.
    expressions = dashboard_expressions()
    assert expressions
    as_rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{n}", "expr": expression.for_prometheus()}
                    for n, expression in enumerate(expressions)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump(as_rules))
    checked = run_promtool("check", "rules", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_dashboard_shows_throughput_latency_queues_outbox_and_failures() -> None:
    named = {
        name
        for expression in dashboard_expressions()
        for name in expression.metrics() | expression.recorded()
    }
    assert {
        # throughput
        "switchyard_workflows_submitted_total",
        "switchyard_workflows_finished_total",
        "switchyard_worker_tasks_total",
        "http_requests_total",
        # latency
        "http_request_duration_seconds_bucket",
        "switchyard_workflow_duration_seconds_bucket",
        "switchyard_worker_task_duration_seconds_bucket",
        # queue and dead-letter depth, consumers
        "queue:switchyard_queue_messages:max",
        "queue:switchyard_queue_consumers:max",
        # the outbox
        "switchyard_outbox_oldest_due_seconds",
        # the failure ratio per kind, the one the alert reads
        "kind:switchyard_workflows_failed:ratio_rate10m",
    } <= named


def test_recorded_series_are_read_only_by_the_labels_their_rules_keep() -> None:
    kept = recorded_labels()
    for expression in dashboard_expressions() + rule_expressions():
        unknown = expression.recorded() - recorded_names()
        assert not unknown, f"{expression.where} reads {unknown}, which no rule records"
        for series, label in expression.matched_labels():
            if series in kept:
                assert label in kept[series], f"{expression.where}: {series} has no {label}"


def test_every_panel_queries_the_provisioned_prometheus() -> None:
    (source,) = load_yaml(DATASOURCES)["datasources"]
    assert source["type"] == "prometheus"
    for path in DASHBOARDS:
        board = dashboard(path)
        every = [*board["panels"], *(p for row in board["panels"] for p in row.get("panels", []))]
        ids = Counter(panel["id"] for panel in every)
        assert max(ids.values()) == 1, f"{path.name}: panel ids repeat"
        for panel in panels(board):
            assert panel["datasource"] == {"type": "prometheus", "uid": source["uid"]}
            assert panel["targets"], panel["title"]
            for target in panel["targets"]:
                assert target["datasource"] == panel["datasource"], panel["title"]
