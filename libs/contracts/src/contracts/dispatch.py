"""Sending contract tasks by name: what a producer needs instead of a worker's code.

It takes the producer's own Celery app and imports nothing of Celery itself, so the
contracts need no Celery installed until a producer sends with them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from contracts.base import Message
from contracts.routing import CONTRACTS, contract_for

if TYPE_CHECKING:
    from celery import Celery, Signature


def task_name_of(payload: Message) -> str:
    """The task name whose payload model ``payload`` is."""
    for contract in CONTRACTS.values():
        if type(payload) is contract.payload:
            return contract.name
    raise TypeError(f"{type(payload).__name__} is not the payload of any task contract")


def _route_options(name: str, kwargs: Mapping[str, Any]) -> dict[str, str]:
    return contract_for(name).route(kwargs)


def dispatch(
    app: Celery,
    payload: Message,
    *,
    task_id: str | None = None,
    headers: Mapping[str, Any] | None = None,
) -> str:
    """Validate ``payload``, publish its task by name, and return the task id.

    Blocking (it waits for the broker's publisher confirm): call it from a thread, never
    on an event loop.
    """
    name = task_name_of(payload)
    kwargs = payload.to_wire()
    route = _route_options(name, kwargs)
    result = app.send_task(
        name,
        kwargs=kwargs,
        task_id=task_id,
        exchange=route["exchange"],
        routing_key=route["routing_key"],
        queue=route["queue"],
        headers=dict(headers or {}),
        **cast(dict[str, Any], redacted(kwargs)),
    )
    return str(result.id)


def redacted(kwargs: Mapping[str, Any]) -> dict[str, str]:
    """What a task message says of its arguments for logs and monitors: their names.

    Celery otherwise writes a repr of every argument into the message's headers, which
    worker logs and Flower then show: recipients, subjects and bodies of emails.
    """
    return {"argsrepr": "()", "kwargsrepr": "{" + ", ".join(kwargs) + "}"}


def signature(
    app: Celery,
    payload: Message,
    *,
    task_id: str,
    headers: Mapping[str, Any] | None = None,
) -> Signature:
    """An immutable canvas signature for ``payload``'s task, routed by the contracts.

    The queue name travels in the options: Celery needs it to schedule a chord's
    ``celery.chord_unlock`` next to the callback. Its arguments are shown by name only
    (:func:`redacted`).
    """
    name = task_name_of(payload)
    kwargs = payload.to_wire()
    options: dict[str, Any] = {
        "task_id": task_id,
        **_route_options(name, kwargs),
        **redacted(kwargs),
    }
    if headers:
        options["headers"] = dict(headers)
    return app.signature(name, kwargs=kwargs, immutable=True, options=options)
