"""The shape every task contract has: a name, a payload, a result and a route."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Self, TypeVar

from kombu import Exchange, Queue
from pydantic import BaseModel, ConfigDict


class Message(BaseModel):
    """Base of every payload and result model.

    Unknown fields are ignored on receipt, so a worker built from older contracts accepts
    a payload that a newer producer extended with an optional field.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready dict sent over the wire, validated strictly once more.

        The round trip through JSON in strict mode catches what a lax construction let
        through (a value that would not survive the JSON serializer unchanged).
        """
        wire = type(self).model_validate_json(self.model_dump_json(), strict=True)
        return wire.model_dump(mode="json")

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Self:
        """Validate a received payload (unknown fields are ignored)."""
        return cls.model_validate(dict(data))


PayloadT = TypeVar("PayloadT", bound=Message)
ResultT = TypeVar("ResultT", bound=Message)


@dataclass(frozen=True)
class TaskContract(Generic[PayloadT, ResultT]):
    """Everything a producer or a consumer needs to know about one task.

    ``queue_for`` picks the queue (the lane) for a payload given as wire kwargs, so
    routing works the same for a typed producer and for a plain ``send_task`` call.
    """

    name: str
    payload: type[PayloadT]
    result: type[ResultT]
    exchange: Exchange
    queues: tuple[Queue, ...]
    queue_for: Callable[[Mapping[str, Any]], Queue]
    routing_key_for: Callable[[Mapping[str, Any]], str]
    dead_letter_queues: tuple[Queue, ...] = field(default=())

    def route(self, kwargs: Mapping[str, Any]) -> dict[str, str]:
        """Celery route options (queue, exchange, routing key) for these kwargs."""
        return {
            "queue": self.queue_for(kwargs).name,
            "exchange": self.exchange.name,
            "routing_key": self.routing_key_for(kwargs),
        }
