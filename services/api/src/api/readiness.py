"""Whether this API process is ready for traffic, as ``/readyz`` answers it.

Ready means: the database answers, the broker takes a connection, this process's outbox
relay is healthy (its last pass published what was due, :class:`OutboxRelay`), and no
outbox message due for publishing has waited longer than ``OUTBOX_MAX_AGE``. A message
backing off after the broker refused it is not due until its next attempt, so one
refused message does not make every API process unready; its refusals are counted.

The checks run at most once per :data:`TTL` per process, whatever the request rate:
concurrent requests share one check, and later ones the stored answer until it is a
second old. So probes cost at most one broker connection and one database read a
second, and nothing at all when nobody asks. The database read runs on the background
pool (it is the first entry of the index the relay takes messages by), never on the
connections requests use.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

import anyio
import asyncpg
from celery import Celery

from api.metrics import RelayMetrics
from api.workflows import outbox
from api.workflows.relay import OutboxRelay
from switchyard_runtime.failover import retries_per_node

#: Seconds a readiness answer is reused for.
TTL = 1.0
#: Seconds each check may take before it counts as down.
CHECK_TIMEOUT = 3

#: A check: names and states (``"ok"`` or why not).
Check = Callable[[], Awaitable[Mapping[str, str]]]


@dataclass(frozen=True)
class Report:
    checks: dict[str, str]

    @property
    def down(self) -> list[str]:
        return sorted(name for name, state in self.checks.items() if state != "ok")

    @property
    def ready(self) -> bool:
        return not self.down


class Readiness:
    """Runs ``checks`` at most once per ``ttl`` seconds; requests share the answer."""

    def __init__(
        self,
        checks: Sequence[Check],
        *,
        ttl: float = TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._checks = list(checks)
        self._ttl = ttl
        self._clock = clock
        self._lock = anyio.Lock()
        self._report: Report | None = None
        self._checked_at = 0.0

    def _fresh(self) -> Report | None:
        if self._report is not None and self._clock() - self._checked_at < self._ttl:
            return self._report
        return None

    async def report(self) -> Report:
        fresh = self._fresh()
        if fresh is not None:
            return fresh
        async with self._lock:  # the first request checks; the others wait for its answer
            fresh = self._fresh()
            if fresh is not None:
                return fresh
            checks: dict[str, str] = {}

            async def run(check: Check) -> None:
                checks.update(await check())

            async with anyio.create_task_group() as group:
                for check in self._checks:
                    group.start_soon(run, check)
            self._report, self._checked_at = Report(dict(sorted(checks.items()))), self._clock()
            return self._report


def database_and_outbox(
    pool: asyncpg.Pool,
    max_age: float,
    metrics: RelayMetrics | None = None,
    timeout: int = CHECK_TIMEOUT,
) -> Check:
    """The database answers, and the most overdue outbox message is younger than
    ``max_age`` seconds: one read does both."""

    async def check() -> dict[str, str]:
        try:
            with anyio.fail_after(timeout):
                due_in = await outbox.first_due_in(pool)
        except Exception as exc:
            return {"database": f"down: {type(exc).__name__}"}
        waited = max(0.0, -due_in) if due_in is not None else 0.0
        if metrics is not None:
            metrics.overdue(waited)
        if waited > max_age:
            state = f"a message due {waited:.0f} s ago is not published (limit {max_age:g} s)"
            return {"database": "ok", "outbox": state}
        return {"database": "ok", "outbox": "ok"}

    return check


def broker(celery_app: Celery, timeout: int = CHECK_TIMEOUT) -> Check:
    """The broker takes a connection (opened and closed again, in a thread)."""

    def connect() -> None:
        with celery_app.connection_for_write() as connection:
            connection.ensure_connection(
                max_retries=retries_per_node(connection, 1), timeout=timeout
            )

    async def check() -> dict[str, str]:
        try:
            with anyio.fail_after(timeout + 1):
                await anyio.to_thread.run_sync(connect, abandon_on_cancel=True)
        except Exception as exc:
            return {"broker": f"down: {type(exc).__name__}"}
        return {"broker": "ok"}

    return check


def relay(outbox_relay: OutboxRelay) -> Check:
    """This process's relay published what was due on its last pass."""

    async def check() -> dict[str, str]:
        if outbox_relay.healthy:
            return {"relay": "ok"}
        return {"relay": f"failing: {outbox_relay.problem}"}

    return check
