"""What every worker's tasks share: payload validation on receipt and the run guard."""

from __future__ import annotations

import math
import random
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from celery import Task, signals, states
from celery.exceptions import Ignore
from pydantic import ValidationError

from contracts.base import Message, PayloadT, ResultT, TaskContract
from switchyard_runtime.results import Claim, ResultBackend, Write


class InvalidPayload(Exception):
    """The received kwargs do not satisfy the task's payload contract (never retried)."""


class ContractTask(Task[Any, Any]):
    """Base class for tasks that implement a contract.

    Before running, it claims the run in the result backend
    (:meth:`switchyard_runtime.results.ResultBackend.claim`, one statement): it waits while
    another copy of the same message runs, stores STARTED, and skips the task when it is
    REVOKED (a step the API cancelled stays cancelled even for a worker that never saw
    the revoke broadcast) or already succeeded (a duplicate message sends nothing twice).
    """

    track_started = False  # the claim stores STARTED itself, in the same statement

    def before_start(self, task_id: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        backend = self.backend
        if isinstance(backend, ResultBackend):
            if backend.claim(task_id, self.request) is not Claim.RUN:
                raise Ignore()
        elif backend.get_state(task_id) == states.REVOKED:
            raise Ignore()


@signals.task_postrun.connect(weak=False)
def _release_claim(sender: Any = None, task_id: str | None = None, **_: Any) -> None:
    """A run that ended without storing a state (ignored, rejected) frees its claim."""
    backend = getattr(sender, "backend", None)
    if task_id and isinstance(backend, ResultBackend):
        backend.release(task_id)


def commit_with_outcome(task: Task[Any, Any], rows: Sequence[Write]) -> None:
    """Have ``rows`` written atomically with the running task's next final or RETRY state
    (:meth:`switchyard_runtime.results.ResultBackend.commit_with_outcome`)."""
    backend = task.backend
    if not isinstance(backend, ResultBackend):
        raise TypeError(f"{type(backend).__name__} cannot commit rows with a task's outcome")
    backend.commit_with_outcome(str(task.request.id), rows)


class ScreenedPayloads:
    """Payloads the worker's consumer validated on receipt, for the task to take.

    With a thread pool the task runs in the consumer's process and takes the validated
    model instead of validating the same kwargs again; a prefork child finds nothing and
    validates. Bounded: a screened message that never runs (revoked while waiting) is
    forgotten after :data:`CAPACITY` newer ones.
    """

    CAPACITY = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._payloads: OrderedDict[str, Message] = OrderedDict()

    def put(self, task_id: str, payload: Message) -> None:
        with self._lock:
            self._payloads[task_id] = payload
            while len(self._payloads) > self.CAPACITY:
                self._payloads.popitem(last=False)

    def take(self, task_id: str) -> Message | None:
        with self._lock:
            return self._payloads.pop(task_id, None)


SCREENED = ScreenedPayloads()


def payload_of(
    contract: TaskContract[PayloadT, ResultT], task: Task[Any, Any], kwargs: Mapping[str, Any]
) -> PayloadT:
    """The task's payload: the one the consumer validated, else ``kwargs`` validated now."""
    screened = SCREENED.take(str(task.request.id))
    if isinstance(screened, contract.payload):
        return screened
    return parse_payload(contract, kwargs)


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
