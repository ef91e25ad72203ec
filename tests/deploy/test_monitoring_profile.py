"""`docker compose --profile monitoring` checked as data: what Prometheus and Grafana are
given exists, and Prometheus scrapes each service where that service serves metrics."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

import pytest

from tests.deploy.compose import ROOT, compose, env_example
from tests.support.monitoring import (
    DASHBOARD_PROVIDERS,
    DASHBOARDS,
    DATASOURCES,
    PROMETHEUS_CONFIG,
    load_yaml,
)

PROFILE = ("prometheus", "grafana")


def services() -> dict[str, Any]:
    result: dict[str, Any] = compose()["services"]
    return result


def bind_mounts(service: str) -> dict[str, str]:
    """``{path in the repository: path in the container}`` of a service's bind mounts."""
    mounts = {}
    for volume in services()[service].get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith("./"):
            mounts[source[2:]] = target
    return mounts


def mounted_at(service: str, repository_path: str) -> PurePosixPath:
    return PurePosixPath(bind_mounts(service)[repository_path])


def container_port(service: str) -> int:
    (published,) = services()[service]["ports"]
    return int(published.rsplit(":", 1)[1])


@pytest.mark.parametrize("name", PROFILE)
def test_the_profile_adds_prometheus_and_grafana_from_pinned_official_images(name: str) -> None:
    service = services()[name]
    assert service["profiles"] == ["monitoring"]
    image = {"prometheus": "prom/prometheus", "grafana": "grafana/grafana"}[name]
    assert re.fullmatch(rf"{image}:v?\d+\.\d+\.\d+", service["image"]), service["image"]
    # Published on the loopback address only, like the other consoles.
    assert all(port.startswith("127.0.0.1:") for port in service["ports"])


@pytest.mark.parametrize("name", PROFILE)
def test_every_file_the_profile_mounts_is_in_the_repository(name: str) -> None:
    mounts = bind_mounts(name)
    assert mounts
    for source in mounts:
        assert (ROOT / source).exists(), f"{name} mounts ./{source}, which does not exist"


def metrics_ports() -> dict[str, int]:
    """Each compose service that serves metrics, and on which port."""
    return {
        name: int(service["environment"]["METRICS_PORT"])
        for name, service in services().items()
        if int(service.get("environment", {}).get("METRICS_PORT") or 0)
    }


def scrape_targets() -> dict[str, tuple[str, int]]:
    """``{job: (compose service, port)}`` of monitoring/prometheus.yml."""
    targets = {}
    for job in load_yaml(PROMETHEUS_CONFIG)["scrape_configs"]:
        (lookup,) = job["dns_sd_configs"]
        (name,) = lookup["names"]
        assert lookup["type"] == "A"  # every replica's address, not one of them
        targets[job["job_name"]] = (name, int(lookup["port"]))
    return targets


def test_prometheus_scrapes_every_service_that_serves_metrics_at_its_port() -> None:
    assert {"api", "email-worker", "report-worker"} <= set(metrics_ports())
    assert dict(scrape_targets().values()) == metrics_ports()
    # One job per service, named after it: alerts and panels show where a series is from.
    assert all(job == service for job, (service, _) in scrape_targets().items())


def test_prometheus_loads_the_mounted_config_and_rules() -> None:
    command = services()["prometheus"]["command"]
    config = mounted_at("prometheus", "monitoring/prometheus.yml")
    assert f"--config.file={config}" in command
    rules = mounted_at("prometheus", "monitoring/rules")
    for pattern in load_yaml(PROMETHEUS_CONFIG)["rule_files"]:
        # Prometheus resolves a relative path from its config file's directory.
        in_container = config.parent / pattern
        assert in_container.parent == rules, pattern
        assert list(PROMETHEUS_CONFIG.parent.glob(pattern)), pattern


def test_grafana_reads_the_profiles_prometheus_and_the_mounted_dashboards() -> None:
    (source,) = load_yaml(DATASOURCES)["datasources"]
    assert source["url"] == f"http://prometheus:{container_port('prometheus')}"
    provisioning = mounted_at("grafana", "monitoring/grafana/provisioning")
    assert provisioning == PurePosixPath("/etc/grafana/provisioning")  # Grafana's default
    (provider,) = load_yaml(DASHBOARD_PROVIDERS)["providers"]
    dashboards = mounted_at("grafana", "monitoring/grafana/dashboards")
    assert PurePosixPath(provider["options"]["path"]) == dashboards
    home = services()["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert PurePosixPath(home).parent == dashboards
    assert PurePosixPath(home).name in {path.name for path in DASHBOARDS}


def test_grafana_waits_for_prometheus_and_has_no_default_password() -> None:
    assert services()["grafana"]["depends_on"] == {"prometheus": {"condition": "service_healthy"}}
    without = {k: v for k, v in env_example().items() if k != "GRAFANA_ADMIN_PASSWORD"}
    with pytest.raises(KeyError, match="GRAFANA_ADMIN_PASSWORD"):
        compose(without)
