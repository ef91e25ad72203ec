"""Message (wire behaviour shared by every model) and TaskContract.route."""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

import pytest
from kombu import Exchange, Queue
from pydantic import Field, ValidationError

from contracts.base import Message, TaskContract


class Sample(Message):
    name: str = Field(min_length=1)
    count: int = 0


class Other(Message):
    ok: bool = True


def test_from_wire_ignores_unknown_fields() -> None:
    sample = Sample.from_wire({"name": "a", "count": 2, "added_by_a_newer_producer": [1, 2]})

    assert sample == Sample(name="a", count=2)
    assert not hasattr(sample, "added_by_a_newer_producer")
    assert "added_by_a_newer_producer" not in sample.model_dump()


def test_from_wire_accepts_any_mapping() -> None:
    assert Sample.from_wire(MappingProxyType({"name": "a"})) == Sample(name="a")


def test_from_wire_still_validates_known_fields() -> None:
    with pytest.raises(ValidationError) as info:
        Sample.from_wire({"count": "many"})
    fields = {error["loc"][0] for error in info.value.errors()}
    assert fields == {"name", "count"}


def test_messages_are_frozen() -> None:
    sample = Sample(name="a")
    with pytest.raises(ValidationError):
        sample.name = "b"  # type: ignore[misc]


def test_to_wire_is_a_json_ready_dict_that_round_trips() -> None:
    sample = Sample(name="a", count=3)

    wire = sample.to_wire()

    assert wire == {"name": "a", "count": 3}
    assert json.loads(json.dumps(wire)) == wire
    assert Sample.from_wire(wire) == sample


def test_to_wire_rejects_what_a_lax_construction_let_through() -> None:
    # model_construct skips validation entirely; the wire check must not.
    unchecked = Sample.model_construct(name="", count=1)

    with pytest.raises(ValidationError) as info:
        unchecked.to_wire()
    assert [error["loc"] for error in info.value.errors()] == [("name",)]


def _contract(queues: tuple[Queue, ...]) -> TaskContract[Sample, Other]:
    exchange = Exchange("things", type="topic")
    by_name = {queue.name: queue for queue in queues}

    def queue_for(kwargs: Any) -> Queue:
        return by_name[kwargs.get("where", "things.a")]

    return TaskContract(
        name="things.do",
        payload=Sample,
        result=Other,
        exchange=exchange,
        queues=queues,
        queue_for=queue_for,
        routing_key_for=lambda kwargs: f"things.do.{kwargs.get('where', 'things.a')}",
    )


def test_task_contract_route_combines_queue_exchange_and_routing_key() -> None:
    exchange = Exchange("things", type="topic")
    queues = (Queue("things.a", exchange, "#.a"), Queue("things.b", exchange, "#.b"))
    contract = _contract(queues)

    assert contract.route({}) == {
        "queue": "things.a",
        "exchange": "things",
        "routing_key": "things.do.things.a",
    }
    assert contract.route({"where": "things.b"}) == {
        "queue": "things.b",
        "exchange": "things",
        "routing_key": "things.do.things.b",
    }


def test_task_contract_is_immutable_and_has_no_dead_letter_queues_by_default() -> None:
    contract = _contract((Queue("things.a"),))

    assert contract.dead_letter_queues == ()
    with pytest.raises(AttributeError):
        contract.name = "renamed"  # type: ignore[misc]
