"""The pipeline of one stack: N emails submitted by wrk from 64 connections in a closed
loop, from the first submit to the last result stored, and the CPU every process tree
(the stack's and the servers') spent on them meanwhile.

The end of the pipeline is read from the database, because that is when a status read
first answers that the email went: the product's ``max(finished_at)`` of the bench
tenant, the tutorial's ``max(date_done)`` in Celery's result table.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from bench import wrk
from bench.resources import CpuMeter

#: (submitted answers expected, when the load began) -> (succeeded, when the last ended)
Wait = Callable[[int, datetime], tuple[int, datetime]]


@dataclass(frozen=True)
class Pipeline:
    """One stack's pipeline run."""

    submits: wrk.WrkRun
    succeeded: int
    seconds: float
    cpu_seconds: dict[str, float]

    @property
    def per_second(self) -> float:
        return self.succeeded / self.seconds

    def cpu_ms_per_email(self) -> dict[str, float]:
        """Each tree's CPU milliseconds per email, and their total."""
        each = {name: round(1000 * s / self.succeeded, 3) for name, s in self.cpu_seconds.items()}
        return {"total": round(sum(each.values()), 3), **each}


def run(
    url: str,
    body: str,
    total: int,
    *,
    clients: int,
    trees: Mapping[str, int],
    wait: Wait,
    headers: Mapping[str, str] | None = None,
) -> Pipeline:
    """POST ``body`` ``total`` times to ``url``; wait for every result."""
    started = datetime.now(UTC)
    with CpuMeter(trees) as cpu:
        submits = wrk.post(url, body, total, connections=clients, headers=headers)
        succeeded, last = wait(submits.answered_2xx, started)
    if succeeded == 0:
        raise RuntimeError(f"no email of {total} succeeded: {submits.summary()}")
    return Pipeline(submits, succeeded, (last - started).total_seconds(), cpu.seconds)


def _poll(
    database_url: str,
    query: str,
    params: tuple[object, ...],
    expected: int,
    timeout: float,
    what: str,
) -> tuple[int, datetime]:
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            done, succeeded, last = conn.execute(query, params).fetchone() or (0, 0, None)
            if done >= expected and last is not None:
                return succeeded, last
            if time.monotonic() > deadline:
                raise TimeoutError(f"{done} of {expected} {what} finished in {timeout:.0f}s")
            time.sleep(0.2)


def product_wait(database_url: str, tenant: str, timeout: float) -> Wait:
    """Until as many of the tenant's workflows created since the start have finished."""

    def wait(expected: int, since: datetime) -> tuple[int, datetime]:
        return _poll(
            database_url,
            "SELECT count(finished_at), count(*) FILTER (WHERE status = 'succeeded'), "
            "max(finished_at) FROM api.workflows WHERE tenant = %s AND created_at >= %s",
            (tenant, since),
            expected,
            timeout,
            "workflows",
        )

    return wait


def tutorial_wait(database_url: str, timeout: float) -> Wait:
    """Until as many results are stored (the table was emptied after the warm-up)."""

    def wait(expected: int, since: datetime) -> tuple[int, datetime]:
        # date_done has no time zone: Celery writes UTC times, which PostgreSQL stores in
        # the writing session's zone, the server's default (the tutorial sets none), as
        # this session's is.
        return _poll(
            database_url,
            "SELECT count(*), count(*) FILTER (WHERE status = 'SUCCESS'), "
            "max(date_done) AT TIME ZONE current_setting('TimeZone') FROM celery_taskmeta",
            (),
            expected,
            timeout,
            "tasks",
        )

    return wait
