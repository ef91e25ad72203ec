"""Who may act for a tenant: the entitlements, what a message asks for, and the screen.

The broker's own check of ``user_id`` and the workers refusing for real are in the root
``tests/test_tenant_producers_e2e.py``.
"""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from celery import Celery
from kombu import Connection
from kombu.message import Message

from switchyard_runtime.celery_app import create_celery_app
from switchyard_runtime.entitlements import (
    ALL_TENANTS,
    Entitlements,
    Unauthorized,
    check,
    own_tenant,
    producer_of,
    tenants_asked,
)
from switchyard_runtime.poison import Consumer, reason_of
from switchyard_runtime.settings import PlatformSettings

REPORT = str(uuid.uuid4())
PLAIN = {"to": ["ada@example.com"], "subject": "hi", "text": "hello", "tenant": "acme"}
ATTACHING = {**PLAIN, "attachments": [{"report_id": REPORT}]}
START = {
    "schedule": "daily",
    "tick": "2026-01-01T06:00:00+00:00",
    "tenant": "acme",
    "kind": "email",
    "request": {"to": ["ada@example.com"], "subject": "hi", "text": "x"},
}


def sig(name: str, kwargs: dict[str, Any], **options: Any) -> dict[str, Any]:
    """A signature as Celery serialises it into a message."""
    return {
        "task": name,
        "args": [],
        "kwargs": kwargs,
        "options": options,
        "subtask_type": None,
        "immutable": True,
    }


# --- the entitlements -----------------------------------------------------------------


def test_the_platforms_users_and_the_scheduler_have_their_defaults() -> None:
    grants = Entitlements.of(scheduler_tenant="ops")
    for user in ("api", "api-intake", "email-worker", "report-worker"):
        assert grants.allows(user, "anyone")
    assert grants.allows("scheduler", "ops")
    assert not grants.allows("scheduler", "acme")
    assert not grants.allows("billing", "acme")


def test_configured_users_get_exactly_their_tenants() -> None:
    grants = Entitlements.of({"billing": ["acme", "globex"], "scheduler": [], "ops": ["*"]})
    assert grants.allows("billing", "acme") and grants.allows("billing", "globex")
    assert not grants.allows("billing", "initech")
    assert not grants.allows("scheduler", "system")  # a configured list replaces the default
    assert grants.allows("ops", "initech")


def test_the_services_own_user_acts_for_every_tenant() -> None:
    grants = Entitlements.of({"guest": ["acme"]}, own_user="guest")
    assert grants.allows("guest", "initech")


def test_a_message_naming_no_user_is_entitled_to_nothing() -> None:
    assert not Entitlements({"": frozenset({ALL_TENANTS})}).allows(None, "acme")


def test_the_factory_reads_tenant_producers_and_the_own_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AMQP_URL", "amqp://email-worker:pw@127.0.0.1:9/switchyard")
    monkeypatch.setenv("TENANT_PRODUCERS", json.dumps({"billing": ["acme"]}))
    monkeypatch.setenv("SCHEDULER_TENANT", "ops")
    app = create_celery_app("unit", PlatformSettings())
    try:
        grants = app.entitlements  # type: ignore[attr-defined]
        assert grants.allows("billing", "acme") and not grants.allows("billing", "ops")
        assert grants.allows("scheduler", "ops")
        assert grants.grants["email-worker"] == frozenset({ALL_TENANTS})
    finally:
        app.close()


@pytest.mark.parametrize("value", ['{"billing": "acme"}', '{"billing": [""]}', "not json"])
def test_a_malformed_tenant_producers_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("TENANT_PRODUCERS", value)
    with pytest.raises(ValueError, match="tenant_producers"):
        PlatformSettings()


@pytest.mark.parametrize(
    ("properties", "expected"),
    [({"user_id": "api"}, "api"), ({"user_id": b"api"}, "api"), ({}, None), (None, None)],
)
def test_the_producer_is_the_user_id_property(properties: Any, expected: str | None) -> None:
    assert producer_of(properties) == expected


# --- what a message asks for ----------------------------------------------------------


def test_a_plain_email_acts_for_nobody_and_stored_reports_are_the_tenants() -> None:
    assert own_tenant("email.send", PLAIN) is None
    assert own_tenant("email.send", {**PLAIN, "attachments": []}) is None
    assert own_tenant("email.send", ATTACHING) == "acme"
    without_tenant = {k: v for k, v in ATTACHING.items() if k != "tenant"}
    assert own_tenant("email.send", without_tenant) == "default"  # SendEmail's default


def test_a_start_acts_for_its_tenant_and_other_tasks_for_nobody() -> None:
    assert own_tenant("workflow.start", START) == "acme"
    assert own_tenant("report.generate", {"tenant": "acme"}) is None
    assert own_tenant("celery.backend_cleanup", {}) is None


def test_a_chain_asks_for_what_its_later_steps_do() -> None:
    embed = {"chain": [sig("email.send", {**ATTACHING, "tenant": "globex"})], "chord": None}
    assert tenants_asked("report.generate", [], {"tenant": "acme"}, embed) == {"globex"}


def test_a_chord_callback_a_link_and_a_nested_group_are_read() -> None:
    callback = sig("email.send", {**ATTACHING, "tenant": "a"})
    linked = sig("email.send", PLAIN, link=[sig("workflow.start", {**START, "tenant": "b"})])
    group = {
        "task": "celery.group",
        "args": [],
        "kwargs": {"tasks": [sig("email.send", {**ATTACHING, "tenant": "c"})]},
        "options": {},
        "subtask_type": "group",
    }
    embed = {"chord": callback, "callbacks": [linked], "errbacks": None, "chain": [group]}
    assert tenants_asked("report.generate", [], {}, embed) == {"a", "b", "c"}


def test_a_chord_unlock_asks_for_what_its_callback_does() -> None:
    kwargs = {"group_id": "g", "result": [], "callback": sig("email.send", ATTACHING)}
    assert tenants_asked("celery.chord_unlock", [], kwargs, None) == {"acme"}


def test_a_deep_message_is_read_without_recursion() -> None:
    nested: Any = sig("email.send", ATTACHING)
    for _ in range(5000):
        nested = [nested]
    assert tenants_asked("report.generate", [], {}, {"chain": nested}) == {"acme"}


def test_check_names_the_producer_and_every_refused_tenant() -> None:
    grants = Entitlements.of({"billing": ["acme"]})
    embed = {"chain": [sig("email.send", {**ATTACHING, "tenant": "globex"})]}
    assert check(grants, "billing", "email.send", [], ATTACHING, None) is None
    refusal = check(grants, "billing", "email.send", [], ATTACHING, embed)
    assert isinstance(refusal, Unauthorized)
    assert str(refusal) == "broker user 'billing' is not entitled to act for tenant 'globex'"
    anonymous = check(grants, None, "email.send", [], ATTACHING, None)
    assert str(anonymous) == "no broker user (no user_id) is not entitled to act for tenant 'acme'"
    assert check(grants, None, "email.send", [], PLAIN, None) is None


# --- the worker's screen --------------------------------------------------------------


def message(kwargs: dict[str, Any], user: str | None, name: str = "email.send") -> Message:
    body = json.dumps([[], kwargs, {"callbacks": None, "errbacks": None, "chain": None}])
    return Message(
        body=body,
        content_type="application/json",
        content_encoding="utf-8",
        headers={"task": name, "id": str(uuid.uuid4())},
        properties={} if user is None else {"user_id": user},
        accept={"application/json"},
        delivery_info={"exchange": "email", "routing_key": "email.send.transactional"},
    )


def screen(grants: Entitlements) -> Consumer:
    consumer = Consumer.__new__(Consumer)
    consumer.strategies = dict.fromkeys(("email.send", "workflow.start"))
    consumer.app = SimpleNamespace(backend=None, entitlements=grants)  # type: ignore[assignment]
    return consumer


def test_the_screen_refuses_stored_reports_of_a_tenant_the_producer_may_not_act_for() -> None:
    consumer = screen(Entitlements.of({"billing": ["globex"]}))
    refusal = consumer.screen(message(ATTACHING, "billing"))
    assert isinstance(refusal, Unauthorized)
    assert isinstance(consumer.screen(message(ATTACHING, None)), Unauthorized)
    assert isinstance(consumer.screen(message(START, "billing", "workflow.start")), Unauthorized)
    assert consumer.screen(message(ATTACHING, "api")) is None
    assert consumer.screen(message({**ATTACHING, "tenant": "globex"}, "billing")) is None


def test_the_screen_lets_a_plain_email_through_for_any_producer() -> None:
    consumer = screen(Entitlements.of())
    assert consumer.screen(message(PLAIN, None)) is None
    assert consumer.screen(message(PLAIN, "someone-else")) is None


def test_an_invalid_payload_is_refused_as_such_before_its_tenant_is_judged() -> None:
    refusal = screen(Entitlements.of()).screen(message({**ATTACHING, "to": ["x"]}, None))
    assert type(refusal).__name__ == "InvalidPayload"


# --- every task message names its producer --------------------------------------------


@pytest.mark.parametrize(("url", "user"), [("memory://alice:pw@localhost//", "alice")])
def test_every_task_message_names_the_publishing_connections_user(
    settings: PlatformSettings, url: str, user: str
) -> None:
    app: Celery = create_celery_app("unit", settings)
    try:
        with Connection(url) as connection:
            queue = connection.SimpleQueue("unit-producer")
            producer = app.amqp.Producer(connection.default_channel, auto_declare=False)
            # A value copied from a received message must not survive: the broker would
            # refuse a publish claiming another user.
            app.send_task(
                "unit.task",
                kwargs={},
                producer=producer,
                exchange="",
                routing_key="unit-producer",
                user_id="mallory",
                ignore_result=True,
            )
            received = queue.get(timeout=1)
            assert received.properties["user_id"] == user
            queue.close()
    finally:
        app.close()


def test_the_default_users_are_the_services_broker_users() -> None:
    from switchyard_runtime.entitlements import PLATFORM_USERS, SCHEDULER_USER
    from switchyard_runtime.services import SERVICES

    assert {*PLATFORM_USERS, SCHEDULER_USER} == set(SERVICES)


def test_an_unauthorized_dead_letters_reason_begins_with_unauthorized() -> None:
    reason = reason_of(Unauthorized("broker user 'x' is not entitled to act for tenant 'y'"))
    assert reason == "unauthorized: broker user 'x' is not entitled to act for tenant 'y'"
