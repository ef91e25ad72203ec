"""Where the tests' broker, database and mail go: given URLs, else containers, else fail."""

from __future__ import annotations

import importlib

import pytest

from tests.support.infra import (
    InfrastructureUnavailable,
    Source,
    choose_smtp_sink,
    choose_source,
)


def no_docker() -> bool:
    return False


def docker() -> bool:
    return True


def test_a_given_url_wins_without_asking_docker() -> None:
    def must_not_ask() -> bool:
        raise AssertionError("Docker was consulted although a URL was given")

    env = {"TEST_AMQP_URL": " amqp://guest:guest@127.0.0.1:5672// "}
    assert choose_source(env, "TEST_AMQP_URL", must_not_ask) == Source(
        "url", "amqp://guest:guest@127.0.0.1:5672//"
    )


def test_without_a_url_a_container_is_started_when_docker_answers() -> None:
    assert choose_source({"TEST_AMQP_URL": ""}, "TEST_AMQP_URL", docker) == Source("container")


def test_without_either_the_run_fails_and_says_how_to_provide_them() -> None:
    with pytest.raises(InfrastructureUnavailable, match=r"set TEST_AMQP_URL .* or make a Docker"):
        choose_source({}, "TEST_AMQP_URL", no_docker)


@pytest.mark.parametrize("variable", ["TEST_AMQP_URL", "TEST_DATABASE_URL"])
def test_given_servers_keep_the_in_process_sink_without_asking_docker(variable: str) -> None:
    def must_not_ask() -> bool:
        raise AssertionError("Docker was consulted although a server was given")

    assert choose_smtp_sink({variable: "x://server"}, must_not_ask) == "in-process"


def test_with_containers_mail_is_passed_on_to_mailpit() -> None:
    env = {"TEST_AMQP_URL": " ", "TEST_DATABASE_URL": ""}
    assert choose_smtp_sink(env, docker) == "mailpit"


def test_without_servers_or_docker_the_sink_stays_in_process() -> None:
    # The broker and database fixtures are the ones that fail, and say how to provide them.
    assert choose_smtp_sink({}, no_docker) == "in-process"


@pytest.mark.parametrize(
    "module", ["testcontainers.community.rabbitmq", "testcontainers.community.postgres"]
)
def test_the_container_modules_import_cleanly_under_the_warning_filters(module: str) -> None:
    # CI has no Docker engine, so the container path never runs there; this at least fails
    # when a testcontainers module warns at import, which filterwarnings = error would turn
    # into a failed session set-up on every machine that does have Docker.
    importlib.reload(importlib.import_module(module))
