"""docker-compose.yml checked as data: this machine has no Docker engine to run it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic_settings import BaseSettings

from api.config import Settings as ApiSettings
from contracts.routing import SCAFFOLDED
from email_worker.config import Settings as EmailWorkerSettings
from report_worker.config import Settings as ReportWorkerSettings
from scheduler.config import Settings as SchedulerSettings
from switchyard_runtime.database_roles import MIGRATOR, ROLES, DatabaseRoleSettings
from switchyard_runtime.services import SERVICES
from tests.deploy.compose import ROOT, compose, definitions, env_example, required_variables

OUR_SERVICES: dict[str, type[BaseSettings]] = {
    "db-roles": DatabaseRoleSettings,
    "migrate": ApiSettings,
    "email-worker-migrate": EmailWorkerSettings,
    "report-worker-migrate": ReportWorkerSettings,
    "scheduler-migrate": SchedulerSettings,
    "api": ApiSettings,
    "api-intake": ApiSettings,
    "email-worker": EmailWorkerSettings,
    "report-worker": ReportWorkerSettings,
    "scheduler": SchedulerSettings,
}
ONE_SHOT = {
    "db-roles",
    "migrate",
    "email-worker-migrate",
    "report-worker-migrate",
    "scheduler-migrate",
}


def services() -> dict[str, Any]:
    result: dict[str, Any] = compose()["services"]
    return result


def test_the_whole_system_is_in_the_compose_file() -> None:
    assert set(services()) >= {
        "rabbitmq",
        "postgres",
        "mailpit",
        "migrate",
        "api",
        "api-intake",
        "email-worker",
        "report-worker",
        "scheduler",
        "flower",
    }
    assert services()["flower"]["profiles"] == ["monitoring"]


def test_every_long_running_service_has_a_healthcheck() -> None:
    for name, service in services().items():
        if name not in ONE_SHOT:
            assert "test" in service.get("healthcheck", {}), f"{name} has no healthcheck"


def test_workers_ping_their_own_node() -> None:
    for worker in ("api-intake", "email-worker", "report-worker"):
        check = " ".join(services()[worker]["healthcheck"]["test"])
        assert "inspect ping" in check and f"-d {worker}@$HOSTNAME" in check


def test_dependencies_wait_for_health_and_the_api_for_migrations() -> None:
    for name, service in services().items():
        for dependency, condition in service.get("depends_on", {}).items():
            expected = (
                "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            )
            assert condition == {"condition": expected}, (name, dependency)
    assert services()["api"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )


def test_every_build_names_an_existing_dockerfile_built_from_the_repo_root() -> None:
    for name, service in services().items():
        if "build" in service:
            assert service["build"]["context"] == "."
            assert (ROOT / service["build"]["dockerfile"]).is_file(), name


@pytest.mark.parametrize("name", sorted(OUR_SERVICES))
def test_each_of_ours_is_built_from_the_one_dockerfile_as_its_service(name: str) -> None:
    """The one Dockerfile, told which service to install; its command is that service's."""
    build = services()[name]["build"]
    assert build["dockerfile"] == "Dockerfile"
    service = build["args"]["SERVICE"]
    assert (ROOT / "services" / service / "pyproject.toml").is_file(), name
    command = services()[name].get("command", [service])
    assert command[0] == service, name
    assert (ROOT / ".dockerignore").is_file()


def test_workers_scale_no_fixed_names_or_host_ports() -> None:
    for name, service in services().items():
        assert "container_name" not in service, name
    for worker in ("api-intake", "email-worker", "report-worker", "scheduler"):
        assert "ports" not in services()[worker]


@pytest.mark.parametrize("name", sorted(OUR_SERVICES))
def test_every_variable_a_service_is_given_exists_in_its_settings(name: str) -> None:
    fields = {field.upper() for field in OUR_SERVICES[name].model_fields}
    given = set(services()[name].get("environment", {}))
    assert given <= fields, f"{name}: {sorted(given - fields)} are not settings"


def test_required_variables_fail_loudly_and_have_development_values() -> None:
    required = required_variables()
    assert {"POSTGRES_PASSWORD", "RABBITMQ_API_PASSWORD"} <= required
    assert required <= set(env_example())
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        compose({k: v for k, v in env_example().items() if k != "POSTGRES_PASSWORD"})


def grants() -> dict[str, dict[str, str]]:
    defs = definitions()
    assert [vhost["name"] for vhost in defs["vhosts"]] == ["switchyard"]
    return {p["user"]: p for p in defs["permissions"] if p["vhost"] == "switchyard"}


def allows(pattern: str, name: str) -> bool:
    return re.fullmatch(pattern, name) is not None if pattern else False


def test_no_guest_and_one_user_per_service() -> None:
    users = {user["name"] for user in definitions()["users"]}
    assert "guest" not in users
    # and the broker user of each worker `just new-worker` made
    scaffolded = {queue.name for contract in SCAFFOLDED for queue in contract.queues}
    made = {s.name for s in SERVICES.values() if {q.name for q in s.consumes} & scaffolded}
    ours = {"admin", "api", "api-intake", "email-worker", "report-worker", "scheduler"}
    assert users == ours | made
    for name, service in services().items():
        url = service.get("environment", {}).get("AMQP_URL")
        if url and name not in ONE_SHOT:
            assert url.startswith(f"amqp://{name}:"), name


WORK_QUEUES = {
    "api-intake": {"api.intake", "api.dead-letters", "webhooks.deliver"},
    "email-worker": {"email.transactional", "email.bulk"},
    "report-worker": {"reports.default"},
}


def test_producers_publish_to_their_task_exchanges_but_consume_no_work_queue() -> None:
    # The API sends emails, reports and webhooks; the scheduler starts workflows only.
    writes = {"api": {"email", "reports", "webhooks"}, "scheduler": {"workflows"}}
    for user, exchanges in writes.items():
        grant = grants()[user]
        for exchange in ("email", "reports", "workflows", "webhooks"):
            assert allows(grant["write"], exchange) is (exchange in exchanges), (user, exchange)
        for queue in {q for queues in WORK_QUEUES.values() for q in queues} | {"unroutable"}:
            assert not allows(grant["read"], queue), (user, queue)


def test_each_worker_reads_only_its_own_queues() -> None:
    everything = {q for queues in WORK_QUEUES.values() for q in queues} | {
        "unroutable",
        "email.transactional.dlq",
        "email.bulk.dlq",
        "reports.default.dlq",
        "api.intake.dlq",
        "webhooks.deliver.dlq",
    }
    for worker, own in WORK_QUEUES.items():
        grant = grants()[worker]
        readable = {queue for queue in everything if allows(grant["read"], queue)}
        assert readable == own, worker


def test_the_scheduler_migrates_its_state_before_it_starts() -> None:
    # As the migration role, in a one-shot the scheduler waits for: not as itself.
    assert services()["scheduler-migrate"]["command"] == ["scheduler", "migrate"]
    assert services()["scheduler"]["command"] == ["scheduler"]
    assert services()["scheduler"]["depends_on"]["scheduler-migrate"] == {
        "condition": "service_completed_successfully"
    }


def database_user(service: str) -> str:
    url = services()[service]["environment"]["DATABASE_URL"]
    user = re.fullmatch(r"postgresql://([a-z_]+):[^@]+@postgres:5432/switchyard", url)
    assert user is not None, (service, url)
    return user.group(1)


def test_each_service_connects_to_postgresql_as_its_own_role() -> None:
    for service in ("api", "api-intake", "email-worker", "report-worker", "scheduler"):
        role = "api" if service == "api-intake" else service.replace("-", "_")
        assert database_user(service) == role, service
    for migration in ("migrate", "email-worker-migrate", "report-worker-migrate"):
        assert database_user(migration) == MIGRATOR, migration
    assert database_user("scheduler-migrate") == MIGRATOR
    # Only the bootstrap is the admin, and it sets every role's password from .env.
    assert database_user("db-roles") == services()["postgres"]["environment"]["POSTGRES_USER"]
    given = set(services()["db-roles"]["environment"])
    assert {f"DATABASE_PASSWORD_{role.upper()}" for role in ROLES} <= given
    assert {f"DATABASE_PASSWORD_{role.upper()}" for role in ROLES} <= required_variables()


def test_each_service_starts_after_the_migrations_of_the_schemas_it_reads() -> None:
    needs = {
        "api": {"migrate", "report-worker-migrate"},
        "api-intake": {"migrate"},
        "email-worker": {"migrate", "email-worker-migrate", "report-worker-migrate"},
        "report-worker": {"migrate", "report-worker-migrate", "email-worker-migrate"},
        "scheduler": {"migrate", "scheduler-migrate"},
    }
    for service, migrations in needs.items():
        assert migrations <= set(services()[service]["depends_on"]), service
    for migration in ONE_SHOT - {"db-roles"}:
        assert "db-roles" in services()[migration]["depends_on"], migration
