"""Publishing raw messages the way a broken producer would, and reading dead-letter queues."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from kombu import Connection

from api.workflows.status import TaskRow, step_from_row
from api.workflows.steps import Planned


def task_headers(name: str, task_id: str | None = None, **extra: Any) -> dict[str, Any]:
    """Celery protocol 2 headers of a task message named ``name``."""
    task_id = task_id or str(uuid.uuid4())
    return {
        "lang": "py",
        "task": name,
        "id": task_id,
        "root_id": task_id,
        "parent_id": None,
        "group": None,
        "retries": 0,
        "argsrepr": "()",
        "kwargsrepr": "{}",
        "origin": "tests",
        **extra,
    }


def publish_raw(
    amqp_url: str,
    body: bytes,
    *,
    exchange: str,
    routing_key: str,
    headers: Mapping[str, Any] | None = None,
    content_type: str | None = "application/json",
) -> None:
    """Publish ``body`` exactly as given (no serializer) and wait for the broker's confirm."""
    with Connection(amqp_url, transport_options={"confirm_publish": True}) as connection:
        connection.Producer().publish(
            body,
            exchange=exchange,
            routing_key=routing_key,
            headers=dict(headers or {}),
            content_type=content_type or "application/octet-stream",
            content_encoding="utf-8" if content_type else "binary",
            delivery_mode=2,
        )


@dataclass(frozen=True)
class DeadLetter:
    """A message taken from a dead-letter queue."""

    headers: dict[str, Any]
    body: bytes
    content_type: str | None


def take_message(
    amqp_url: str, queue: str, matches: Callable[[DeadLetter], bool], timeout: float = 30.0
) -> DeadLetter | None:
    """Wait for a message in ``queue`` that ``matches``; take (ack) it, leave the others.

    Each pass gets every waiting message without acknowledging it, acks the match and
    closes the channel, which returns the rest to the queue for other tests.
    """
    deadline = time.monotonic() + timeout
    with Connection(amqp_url) as connection:
        while time.monotonic() < deadline:
            channel: Any = connection.channel()
            try:
                while True:
                    raw = channel.basic_get(queue=queue, no_ack=False)
                    if raw is None:
                        break
                    body = raw.body  # py-amqp decodes text bodies with their encoding
                    if isinstance(body, str):
                        body = body.encode(raw.content_encoding or "utf-8")
                    letter = DeadLetter(dict(raw.headers or {}), bytes(body), raw.content_type)
                    if matches(letter):
                        channel.basic_ack(raw.delivery_tag)
                        return letter
            finally:
                channel.close()
            time.sleep(0.2)
    return None


def count_waiting(amqp_url: str, queue: str) -> int:
    """Messages waiting in ``queue`` (a passive declare)."""
    with Connection(amqp_url) as connection:
        channel: Any = connection.channel()
        try:
            _, messages, _ = channel.queue_declare(queue=queue, passive=True)
        finally:
            channel.close()
    return int(messages)


def task_row(database_url: str, task_id: str) -> TaskRow | None:
    """The task's row in Celery's result table, as the API's tracker reads it."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT task_id, status, result, date_done, date_started, retries, worker"
            " FROM celery_taskmeta WHERE task_id = %s",
            (task_id,),
        ).fetchone()
    if row is None:
        return None
    return TaskRow(
        task_id=row[0],
        state=row[1],
        result=None if row[2] is None else bytes(row[2]),
        date_done=row[3],
        date_started=row[4],
        retries=row[5],
        worker=row[6],
    )


def step_status(database_url: str, name: str, task_id: str) -> dict[str, Any]:
    """The step as the API shows it, derived from the task's result row."""
    view = step_from_row(Planned(name, task_id), task_row(database_url, task_id))
    return view.stored()
