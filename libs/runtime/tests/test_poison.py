"""Screening messages in the worker's consumer: what is refused, and the reason it gets.

The consumer's screen is exercised on real kombu messages and a stand-in result backend;
the worker that runs it against a real broker is in the root ``tests/test_poison_e2e.py``.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from celery import Celery, states
from kombu.message import Message

from contracts.topology import DELIVERY_LIMIT
from switchyard_runtime.dead_letters import QueueWatch
from switchyard_runtime.poison import (
    MAX_REASON,
    REFUSE_AT_DELIVERY_COUNT,
    Consumer,
    DeliveryLimitReached,
    InvalidMessage,
    UndecodableMessage,
    delivery_count,
    reason_of,
    task_body,
)
from switchyard_runtime.worker import InvalidPayload

JSON = "application/json"
GOOD = {"to": ["ada@example.com"], "subject": "hi", "text": "hello"}


def message(
    body: bytes,
    headers: dict[str, Any] | None = None,
    content_type: str = JSON,
) -> Message:
    return Message(
        body=body,
        content_type=content_type,
        content_encoding="utf-8",
        headers=headers,
        accept={JSON},
        delivery_info={"exchange": "email", "routing_key": "email.send.transactional"},
    )


def task_message(name: str = "email.send", kwargs: Any = None, **headers: Any) -> Message:
    body = json.dumps([[], GOOD if kwargs is None else kwargs, {}]).encode()
    return message(body, {"task": name, "id": "t-1", **headers})


class Backend:
    """The one call the screen makes to the result backend."""

    def __init__(self, state: str = states.PENDING) -> None:
        self.state = state

    def get_state(self, task_id: str) -> str:
        return self.state


def consumer(state: str = states.PENDING, tasks: tuple[str, ...] = ("email.send",)) -> Consumer:
    # The screen needs the strategies (the tasks this worker runs) and the backend only.
    screen = Consumer.__new__(Consumer)
    screen.strategies = dict.fromkeys(tasks)
    screen.app = SimpleNamespace(backend=Backend(state))  # type: ignore[assignment]
    return screen


def test_the_factory_installs_the_consumer_and_the_queue_watch(app: Celery) -> None:
    assert app.conf.worker_consumer == "switchyard_runtime.poison:Consumer"
    assert QueueWatch in app.steps["consumer"]


def test_a_good_task_message_passes() -> None:
    assert consumer().screen(task_message()) is None


def test_a_body_that_is_not_json_is_undecodable() -> None:
    refusal = consumer().screen(message(b"\x00{nope", {"task": "email.send", "id": "t"}))
    assert isinstance(refusal, UndecodableMessage)
    assert str(refusal).startswith("body is not valid application/json: ")


def test_a_forbidden_content_type_is_an_invalid_message() -> None:
    pickled = message(b"\x80\x04K\x01.", {"task": "email.send", "id": "t"}, "application/x-pickle")
    refusal = consumer().screen(pickled)
    assert isinstance(refusal, InvalidMessage)
    assert str(refusal) == "content type 'application/x-pickle' is not accepted"


@pytest.mark.parametrize(
    "body", [{"to": ["a@example.com"]}, [1, 2], [[], [], {}], [{}, {}, {}], [[], {}, []], "x"]
)
def test_a_body_of_the_wrong_shape_is_an_invalid_message(body: Any) -> None:
    refusal = consumer().screen(
        message(json.dumps(body).encode(), {"task": "email.send", "id": "t"})
    )
    assert isinstance(refusal, InvalidMessage)
    assert str(refusal) == "body is not a task's [args, kwargs, embed]"


@pytest.mark.parametrize("headers", [{"task": "email.send"}, {"task": "", "id": "t"}])
def test_task_headers_without_a_name_and_id_are_an_invalid_message(
    headers: dict[str, Any],
) -> None:
    refusal = consumer().screen(message(b"[[], {}, {}]", headers))
    assert isinstance(refusal, InvalidMessage)


def test_a_payload_breaking_the_contract_is_refused_with_every_problem() -> None:
    refusal = consumer().screen(task_message(kwargs={"to": ["nobody"], "subject": "s"}))
    assert isinstance(refusal, InvalidPayload)
    assert str(refusal).startswith("email.send payload rejected: to.0: ")


def test_tasks_that_are_no_contract_are_not_checked_against_one() -> None:
    screen = consumer(tasks=("celery.chord_unlock",))
    assert screen.screen(task_message("celery.chord_unlock", kwargs={"anything": 1})) is None


def test_unknown_tasks_and_headerless_messages_are_left_to_celerys_hooks() -> None:
    assert consumer().screen(task_message("email.sned")) is None
    assert consumer().screen(message(b"garbage", {})) is None


def test_a_message_redelivered_up_to_the_limit_minus_one_is_refused() -> None:
    assert REFUSE_AT_DELIVERY_COUNT == DELIVERY_LIMIT - 1
    below = task_message(**{"x-delivery-count": REFUSE_AT_DELIVERY_COUNT - 1})
    assert consumer().screen(below) is None
    at = task_message(**{"x-delivery-count": REFUSE_AT_DELIVERY_COUNT})
    refusal = consumer().screen(at)
    assert isinstance(refusal, DeliveryLimitReached)
    assert str(refusal) == f"redelivered {REFUSE_AT_DELIVERY_COUNT} times; dead-lettered"


def test_a_redelivered_task_that_already_succeeded_is_left_to_celerys_deduplication() -> None:
    at = task_message(**{"x-delivery-count": REFUSE_AT_DELIVERY_COUNT + 3})
    assert consumer(state=states.SUCCESS).screen(at) is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, 0),
        ({"x-delivery-count": 3}, 3),
        ({"x-delivery-count": "9"}, 0),
        ({"x-delivery-count": True}, 0),
    ],
)
def test_delivery_count(headers: dict[str, Any], expected: int) -> None:
    assert delivery_count(headers) == expected


def test_the_reason_names_the_error_type_and_is_short() -> None:
    assert reason_of(UndecodableMessage("body is bad")) == "UndecodableMessage: body is bad"
    long = reason_of(InvalidMessage("x" * 1000))
    assert len(long) == MAX_REASON
    assert long.startswith("InvalidMessage: xxx")
    assert long.endswith("...")


def test_task_body_returns_args_kwargs_and_embed() -> None:
    args, kwargs, embed = task_body(message(b'[[1], {"a": 2}, null]'))
    assert (args, kwargs, embed) == ([1], {"a": 2}, None)
