"""The Celery app factory: JSON only, late acks, confirms, the PostgreSQL backend, routing."""

from __future__ import annotations

import socket
from datetime import timedelta
from typing import Any, cast

import pytest
from celery import Celery
from celery.app.utils import Settings as CeleryConf
from celery.exceptions import QueueNotFound

from contracts import TASK_QUEUES, route_task
from contracts.workflows import BACKEND_CLEANUP
from switchyard_runtime.celery_app import RESULT_EXPIRES, create_celery_app
from switchyard_runtime.results import ResultBackend
from switchyard_runtime.settings import PlatformSettings

SERIALIZER_SETTINGS = (
    "task_serializer",
    "result_serializer",
    "event_serializer",
)


def test_the_network_guard_works() -> None:
    # Every test here runs under conftest's no_network guard; make sure it bites.
    with pytest.raises(AssertionError, match="must not use the network"):
        socket.create_connection(("127.0.0.1", 9))
    with (
        socket.socket() as sock,
        pytest.raises(AssertionError, match="must not use the network"),
    ):
        sock.connect(("127.0.0.1", 9))


def test_creating_the_app_connects_nowhere(
    settings: PlatformSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_backend(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("creating the app must not instantiate the result backend")

    monkeypatch.setattr(ResultBackend, "__init__", no_backend)

    app = create_celery_app("lazy", settings)

    # Reading the configuration and routing a task stays in-process too.
    assert app.conf.broker_url
    assert app.amqp.router.route({}, "email.send", (), {})["queue"].name == "email.transactional"
    app.close()


def test_app_is_named_and_not_installed_as_current(app: Celery) -> None:
    from celery import current_app

    assert app.main == "runtime-unit"
    assert cast(Any, current_app)._get_current_object() is not app


def test_two_apps_do_not_share_configuration(settings: PlatformSettings) -> None:
    first = create_celery_app("first", settings)
    second = create_celery_app("second", settings)

    first.conf.task_acks_late = False

    assert second.conf.task_acks_late is True
    first.close()
    second.close()


def test_json_is_the_only_serializer(app: Celery) -> None:
    conf: CeleryConf = app.conf
    for name in SERIALIZER_SETTINGS:
        assert conf[name] == "json", name
    assert list(conf.accept_content) == ["json"]
    assert list(conf.result_accept_content) == ["json"]
    everything = " ".join(
        [*(conf[n] for n in SERIALIZER_SETTINGS), *conf.accept_content, *conf.result_accept_content]
    )
    assert "pickle" not in everything
    assert "yaml" not in everything


def test_at_least_once_delivery(app: Celery) -> None:
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.broker_transport_options == {"confirm_publish": True}


def test_broker_url_comes_from_the_settings(app: Celery, settings: PlatformSettings) -> None:
    assert app.conf.broker_url == str(settings.amqp_url) == "amqp://guest:guest@127.0.0.1:9//"
    assert app.conf.broker_connection_retry_on_startup is True


def test_result_backend(app: Celery, settings: PlatformSettings) -> None:
    assert app.conf.result_backend == settings.result_backend_url
    assert app.conf.result_backend.startswith("db+postgresql")
    assert app.conf.result_backend == "db+postgresql+psycopg://tester:secret@127.0.0.1:9/unit"
    assert app.backend_cls == "switchyard_runtime.results:ResultBackend"
    assert app.conf.result_extended is True
    assert app.conf.task_track_started is True
    assert app.conf.result_expires == RESULT_EXPIRES == timedelta(days=7)
    assert BACKEND_CLEANUP == "celery.backend_cleanup"


def test_database_engine_options(app: Celery) -> None:
    options = app.conf.database_engine_options
    # No ping round trip per checkout: a broken connection fails its write, which is
    # retried on a fresh one (the retries below).
    assert options["pool_pre_ping"] is False
    assert options["pool_size"] + options["max_overflow"] >= 16
    # The time zone is SET on connect (switchyard_runtime.database), which PgBouncer carries over.
    assert "options" not in options["connect_args"]
    assert app.conf.enable_utc is True
    assert str(app.conf.timezone) == "UTC"
    # Direct: claims take the same engine; nothing prepared is turned off.
    assert app.conf.result_backend_claims_url is None
    assert "prepare_threshold" not in options["connect_args"]


def test_through_a_transaction_pooler_claims_go_to_the_session_url() -> None:
    settings = PlatformSettings(
        database_url="postgresql://u@pgbouncer:6432/unit",
        database_session_url="postgresql://u@postgres:5432/unit",
        database_pooler="transaction",
    )
    app = create_celery_app("unit-pooled", settings)
    assert app.conf.result_backend == "db+postgresql+psycopg://u@pgbouncer:6432/unit"
    assert app.conf.result_backend_claims_url == "postgresql+psycopg://u@postgres:5432/unit"
    assert app.conf.database_engine_options["connect_args"]["prepare_threshold"] is None


def test_the_result_pools_size_is_a_setting() -> None:
    settings = PlatformSettings(db_result_pool_size=2, db_result_pool_max_overflow=3)
    options = create_celery_app("unit-sized", settings).conf.database_engine_options
    assert (options["pool_size"], options["max_overflow"]) == (2, 3)


def test_the_result_backend_waits_out_a_database_restart(app: Celery) -> None:
    app.conf.database_create_tables_at_setup = False  # no connection here
    backend = app.backend
    assert backend.always_retry is True
    assert backend.max_retries == 20
    base = backend.base_sleep_between_retries_ms
    cap = backend.max_sleep_between_retries_ms
    # Full jitter: each wait is uniform up to its capped, doubling bound.
    average_seconds = sum(min(cap, base * 2**n) for n in range(1, 21)) / 2 / 1000
    assert 30 < average_seconds < 60


def test_topology_and_routes_are_installed(app: Celery) -> None:
    assert tuple(app.conf.task_queues) == TASK_QUEUES
    assert tuple(app.conf.task_routes) == (route_task,)
    assert app.conf.task_default_queue == "unroutable"
    assert app.conf.task_create_missing_queues is False
    assert app.conf.broker_native_delayed_delivery_queue_type == "quorum"
    assert set(app.amqp.queues) == {q.name for q in TASK_QUEUES}


@pytest.mark.parametrize(
    ("name", "kwargs", "queue", "exchange", "key"),
    [
        ("email.send", {"lane": "bulk"}, "email.bulk", "email", "email.send.bulk"),
        ("email.send", {}, "email.transactional", "email", "email.send.transactional"),
        ("report.generate", {}, "reports.default", "reports", "report.generate.default"),
    ],
)
def test_celerys_router_uses_the_contracts(
    app: Celery, name: str, kwargs: dict[str, Any], queue: str, exchange: str, key: str
) -> None:
    options = app.amqp.router.route({}, name, (), kwargs)

    assert options["queue"].name == queue
    assert options["queue"].queue_arguments["x-queue-type"] == "quorum"
    assert options["exchange"] == exchange
    assert options["routing_key"] == key


def test_celerys_router_sends_unknown_tasks_to_the_unroutable_queue(app: Celery) -> None:
    options = app.amqp.router.route({}, "some.unknown.task", (), {})
    assert options["queue"].name == "unroutable"


def test_unknown_queue_names_are_refused_not_created(app: Celery) -> None:
    with pytest.raises(QueueNotFound):
        app.amqp.router.route({"queue": "email.typo"}, "email.send", (), {})


def test_backend_is_the_platform_result_backend(
    app: Celery, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Celery creates its tables when the backend is set up; that is a connection.
    app.conf.database_create_tables_at_setup = False

    def no_engine(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the backend must not open an engine here")

    monkeypatch.setattr("celery.backends.database.session.create_engine", no_engine)

    backend = app.backend

    assert isinstance(backend, ResultBackend)
    # Celery passes no URL to a backend class: it strips its own "db+" prefix.
    assert cast(Any, backend).url == "postgresql+psycopg://tester:secret@127.0.0.1:9/unit"
    assert cast(Any, backend).expires == RESULT_EXPIRES
    assert backend.task_cls.__name__ == "TaskRecord"


def test_reading_the_queues_keeps_the_contract_bindings(app: Celery) -> None:
    before = {q.name: (q.exchange.name, q.routing_key) for q in TASK_QUEUES}

    assert set(app.amqp.queues) == set(before)

    after = {q.name: (q.exchange.name, q.routing_key) for q in TASK_QUEUES}
    work_queues = set(before) - {"unroutable"}
    assert {n: after[n] for n in work_queues} == {n: before[n] for n in work_queues}


def test_task_events_are_off_unless_asked_for(app: Celery, monkeypatch: pytest.MonkeyPatch) -> None:
    assert app.conf.worker_send_task_events is False
    assert app.conf.task_send_sent_event is False
    assert app.conf.event_serializer == "json"

    monkeypatch.setenv("TASK_EVENTS", "true")
    with_events = create_celery_app("events", PlatformSettings())
    assert with_events.conf.worker_send_task_events is True
    assert with_events.conf.task_send_sent_event is True
