"""What every worker's tasks share: payload validation on receipt and the revoke guard."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

from celery import Task, states
from celery.exceptions import Ignore
from pydantic import ValidationError

from contracts.base import PayloadT, ResultT, TaskContract


class InvalidPayload(Exception):
    """The received kwargs do not satisfy the task's payload contract (never retried)."""


class ContractTask(Task[Any, Any]):
    """Base class for tasks that implement a contract.

    Before running, it checks the result backend: a step the API cancelled is marked
    REVOKED there, and stays revoked even for a worker that never saw the revoke
    broadcast (it started later, or the message was already prefetched).
    """

    def before_start(self, task_id: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if self.backend.get_state(task_id) == states.REVOKED:
            raise Ignore()


def parse_payload(contract: TaskContract[PayloadT, ResultT], kwargs: Mapping[str, Any]) -> PayloadT:
    """Validate received kwargs against ``contract``'s payload, ignoring unknown fields."""
    try:
        return contract.payload.from_wire(kwargs)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(payload)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise InvalidPayload(f"{contract.name} payload rejected: {problems}") from None


def backoff(retries: int, base: float, maximum: float) -> int:
    """Seconds before retry number ``retries + 1``: exponential, full jitter, capped.

    Whole seconds of at least one (or zero when ``base`` is zero): Celery's native
    delayed delivery for quorum queues works in whole seconds.
    """
    if base <= 0:
        return 0
    # 2**retries past 1023 does not fit a float; the cap is reached long before anyway.
    ceiling = min(maximum, base * (2 ** min(retries, 1000)))
    seconds = math.ceil(random.uniform(0, ceiling))
    if seconds > maximum:  # rounding up must not exceed a fractional cap
        seconds = math.floor(maximum)
    return max(1, seconds)
