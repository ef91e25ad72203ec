"""Polling a workflow the way an API consumer would: long poll with ETags."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import Any

import httpx

FINISHED = frozenset({"succeeded", "failed", "cancelled"})


def wait_for_workflow(
    client: httpx.Client,
    workflow_id: str,
    statuses: Collection[str] = FINISHED,
    timeout: float = 60.0,
    settled: bool = True,
) -> dict[str, Any]:
    """Long-poll until the workflow reaches one of ``statuses`` (and, when ``settled``,
    has a ``finished_at``); fail with the last document otherwise."""
    deadline = time.monotonic() + timeout
    etag: str | None = None
    document: dict[str, Any] = {}
    while time.monotonic() < deadline:
        headers = {"If-None-Match": etag} if etag else {}
        wait = max(0.0, min(5.0, deadline - time.monotonic()))
        response = client.get(
            f"/v1/workflows/{workflow_id}", params={"wait": wait} if etag else {}, headers=headers
        )
        if response.status_code == 304:
            continue
        response.raise_for_status()
        document = response.json()
        etag = response.headers["ETag"]
        if document["status"] in statuses and (not settled or document["finished_at"]):
            return document
    raise AssertionError(f"workflow {workflow_id} did not reach {set(statuses)}: {document}")


def eventually(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """``check()``'s first truthy answer, polling; fails with the last one."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer or time.monotonic() > deadline:
            assert answer, f"not true after {timeout}s: {answer!r}"
            return answer
        time.sleep(0.2)
