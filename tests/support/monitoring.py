"""The monitoring profile's files as data: the rules, the dashboard, their PromQL.

No PromQL parser is at hand, so names are found by pattern, after removing string
literals (label values) and Grafana's variables: a metric is an identifier of our own
prefixes with no colon; a recorded series (``level:metric:operations``) has colons.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "monitoring"
PROMETHEUS_CONFIG = MONITORING / "prometheus.yml"
RULE_FILES = sorted((MONITORING / "rules").glob("*.yml"))
RULE_TESTS = MONITORING / "tests" / "alerts.yml"
DASHBOARDS = sorted((MONITORING / "grafana" / "dashboards").glob("*.json"))
DATASOURCES = MONITORING / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
DASHBOARD_PROVIDERS = MONITORING / "grafana" / "provisioning" / "dashboards" / "switchyard.yml"

#: What Grafana puts in place of its variables when it queries (a rate's window).
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s"}

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_METRIC = re.compile(r"(?<![\w:$])((?:switchyard|http)_\w+)(?![\w:(])")
_RECORDED = re.compile(r"(?<![\w:$])([a-zA-Z_]\w*:[\w:]+)")
#: ``name{label="value", ...}``: the labels a selector matches on.
_SELECTOR = re.compile(r"(?<![\w:])([a-zA-Z_][\w:]*)\{([^}]*)\}")
_MATCHER_LABEL = re.compile(r"(\w+)\s*(?:=~|!~|!=|=)")
_GROUPING = re.compile(r"\bby\s*\(([^)]*)\)")
_LABEL = re.compile(r"\w+")


@dataclass(frozen=True)
class Expression:
    """One PromQL expression and where it comes from (a panel, a rule)."""

    where: str
    promql: str

    def for_prometheus(self) -> str:
        """The expression with Grafana's variables replaced as Grafana would."""
        text = self.promql
        for variable, replacement in GRAFANA_VARIABLES.items():
            text = text.replace(variable, replacement)
        return text

    def _code(self) -> str:
        """The expression without its string literals (label values)."""
        return _STRING.sub('""', self.for_prometheus())

    def metrics(self) -> set[str]:
        """The exported series it names (``_total``, ``_bucket``... included)."""
        return set(_METRIC.findall(self._code()))

    def recorded(self) -> set[str]:
        """The recorded series it names."""
        return set(_RECORDED.findall(self._code()))

    def matched_labels(self) -> set[tuple[str, str]]:
        """``(series, label)`` for each label a selector of it matches on."""
        return {
            (name, label)
            for name, matchers in _SELECTOR.findall(self._code())
            for label in _MATCHER_LABEL.findall(matchers)
        }


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def rules() -> list[dict[str, Any]]:
    """Every recording and alert rule of every rule file."""
    groups = [group for path in RULE_FILES for group in load_yaml(path)["groups"]]
    return [rule for group in groups for rule in group["rules"]]


def alert_names() -> list[str]:
    return [rule["alert"] for rule in rules() if "alert" in rule]


def recorded_names() -> set[str]:
    return {rule["record"] for rule in rules() if "record" in rule}


def recorded_labels() -> dict[str, set[str]]:
    """The labels each recorded series keeps: its rule's ``by (...)`` (each groups once)."""
    kept = {}
    for rule in rules():
        if "record" in rule:
            grouping = _GROUPING.search(rule["expr"])
            kept[rule["record"]] = set() if grouping is None else set(_LABEL.findall(grouping[1]))
    return kept


def rule_expressions() -> list[Expression]:
    return [
        Expression(f"rule {rule.get('alert') or rule['record']}", rule["expr"]) for rule in rules()
    ]


def dashboard(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, those inside collapsed rows too (rows themselves left out)."""
    for panel in board["panels"]:
        if panel["type"] == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def dashboard_expressions() -> list[Expression]:
    return [
        Expression(f"{path.name}: panel {panel['title']!r}", target["expr"])
        for path in DASHBOARDS
        for panel in panels(dashboard(path))
        for target in panel.get("targets", [])
    ]


def debian_prometheus(binary: str) -> str:
    """``promtool`` or ``prometheus`` from Debian's ``prometheus`` package; a clear failure
    without it."""
    found = shutil.which(binary)
    if found is None:
        pytest.fail(f"{binary} is missing: install Debian's `prometheus` package (.ci/run does)")
    return found


def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [debian_prometheus("promtool"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def scrape_config_for(targets: Mapping[str, str], interval: str) -> dict[str, Any]:
    """monitoring/prometheus.yml with each job's targets replaced by ``{job: host:port}``
    (compose's DNS names do not resolve here) and its rule files by absolute paths."""
    config: dict[str, Any] = load_yaml(PROMETHEUS_CONFIG)
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert set(targets) == jobs, f"give a target to each job of {PROMETHEUS_CONFIG.name}"
    config["global"] |= {"scrape_interval": interval, "evaluation_interval": interval}
    config["rule_files"] = [
        str(path) for pattern in config["rule_files"] for path in MONITORING.glob(pattern)
    ]
    for job in config["scrape_configs"]:
        del job["dns_sd_configs"]
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    return config


@contextmanager
def prometheus_server(config: dict[str, Any], directory: Path) -> Iterator[str]:
    """A Prometheus server (Debian's) on a free port with ``config``; yields its URL."""
    from tests.support.smtp_sink import free_port

    port = free_port()
    config_path = directory / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config))
    log_path = directory / "prometheus.log"
    with log_path.open("ab") as log:
        server = subprocess.Popen(
            [
                debian_prometheus("prometheus"),
                f"--config.file={config_path}",
                f"--storage.tsdb.path={directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _ready(url):
            assert server.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/-/ready", timeout=2).status_code == 200
    except httpx.TransportError:
        return False
