"""Where the tests' broker and database come from: given URLs, else containers, else fail."""

from __future__ import annotations

import pytest

from tests.support.infra import InfrastructureUnavailable, Source, choose_source


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
