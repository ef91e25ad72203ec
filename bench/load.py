"""Driving the API like its consumers do: many concurrent clients, each waiting for its
answer before it sends the next request (a closed loop), every latency recorded."""

from __future__ import annotations

import math
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import anyio
import httpx

#: Seconds a single request may take before it counts as an error.
REQUEST_TIMEOUT = 60.0


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_ms(values: Sequence[float], qs: Sequence[int]) -> dict[str, float]:
    return {f"p{q}": round(percentile(values, q) * 1000, 2) for q in qs}


@dataclass
class Run:
    """What one closed-loop run saw: latencies in seconds, answers by status code."""

    started: datetime
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    #: Requests that got no answer, by the exception's name.
    failures: Counter[str] = field(default_factory=Counter)
    workflow_ids: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        refused = sum(n for status, n in self.statuses.items() if not 200 <= status < 300)
        return refused + sum(self.failures.values())

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds


async def _closed_loop(
    api_url: str,
    key: str,
    total: int,
    clients: int,
    request: Callable[[httpx.AsyncClient, int], Any],
    keep: Callable[[Run, httpx.Response], None] | None = None,
) -> Run:
    run = Run(started=datetime.now(UTC))
    issued = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=api_url,
        headers={"Authorization": f"Bearer {key}"},
        limits=limits,
        timeout=REQUEST_TIMEOUT,
    ) as http:

        async def client() -> None:
            nonlocal issued
            while issued < total:
                number = issued
                issued += 1
                began = time.perf_counter()
                try:
                    response = await request(http, number)
                except httpx.HTTPError as exc:
                    run.failures[type(exc).__name__] += 1
                    continue
                run.latencies.append(time.perf_counter() - began)
                run.statuses[response.status_code] += 1
                if keep is not None:
                    keep(run, response)

        began = time.perf_counter()
        async with anyio.create_task_group() as group:
            for _ in range(clients):
                group.start_soon(client)
        run.seconds = time.perf_counter() - began
    return run


def email(number: int) -> dict[str, Any]:
    """A small transactional email, as a consumer sends one."""
    return {
        "to": [f"reader{number % 1000}@example.com"],
        "subject": f"Benchmark message {number}",
        "text": "Hello from the benchmark.",
        "lane": "transactional",
    }


def submit_emails(api_url: str, key: str, total: int, clients: int) -> Run:
    """``total`` POST /v1/emails from ``clients`` concurrent clients."""

    async def post(http: httpx.AsyncClient, number: int) -> httpx.Response:
        return await http.post("/v1/emails", json=email(number))

    def keep(run: Run, response: httpx.Response) -> None:
        if response.status_code == 202:
            run.workflow_ids.append(response.json()["workflow_id"])

    return anyio.run(_closed_loop, api_url, key, total, clients, post, keep)


def poll_workflows(
    api_url: str, key: str, ids: Callable[[int], uuid.UUID], stored: int, total: int, clients: int
) -> Run:
    """``total`` GET /v1/workflows/{id} of random stored workflows, ``clients`` at a time."""
    chooser = random.Random(7)

    async def get(http: httpx.AsyncClient, number: int) -> httpx.Response:
        return await http.get(f"/v1/workflows/{ids(chooser.randrange(stored))}")

    return anyio.run(_closed_loop, api_url, key, total, clients, get)
