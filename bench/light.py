"""Light load: one client, one email at a time, from sending the POST to receiving the
answer that says it went. This is the latency a person waiting on one email sees.

The product's client follows the email with long polls (``?wait=5`` and
``If-None-Match`` naming the last document's ETag), as its consumers are told to; the
tutorial has no long poll, so its client reads the status again at once until it says
``SUCCESS``.
"""

from __future__ import annotations

import time

import httpx

#: Seconds one email may take before the run fails.
DEADLINE = 60.0
LONG_POLL = 5


def _check(started: float, what: str) -> None:
    if time.perf_counter() - started > DEADLINE:
        raise TimeoutError(f"light load: {what} not done after {DEADLINE:.0f}s")


def product(api_url: str, key: str, count: int) -> list[float]:
    """``count`` emails one after another; each one's seconds to ``succeeded``."""
    seconds = []
    with httpx.Client(
        base_url=api_url, headers={"Authorization": f"Bearer {key}"}, timeout=DEADLINE
    ) as http:
        for number in range(count):
            started = time.perf_counter()
            accepted = http.post(
                "/v1/emails",
                json={
                    "to": ["reader@example.com"],
                    "subject": f"Light load {number}",
                    "text": "Hello from the benchmark.",
                    "lane": "transactional",
                },
            )
            accepted.raise_for_status()
            status_url = accepted.json()["status_url"]
            headers: dict[str, str] = {}
            while True:
                answer = http.get(status_url, params={"wait": LONG_POLL}, headers=headers)
                if answer.status_code != 304:
                    answer.raise_for_status()
                    document = answer.json()
                    if document["status"] == "succeeded":
                        break
                    if document["finished_at"] is not None:
                        raise RuntimeError(f"light load: the email ended {document['status']}")
                    headers = {"If-None-Match": answer.headers["etag"]}
                _check(started, status_url)
            seconds.append(time.perf_counter() - started)
    return seconds


def tutorial(api_url: str, count: int) -> list[float]:
    """The same for the tutorial stack, reading its status in a tight loop."""
    seconds = []
    with httpx.Client(base_url=api_url, timeout=DEADLINE) as http:
        for number in range(count):
            started = time.perf_counter()
            accepted = http.post(
                "/emails",
                json={
                    "to": "reader@example.com",
                    "subject": f"Light load {number}",
                    "body": "Hello from the benchmark.",
                },
            )
            accepted.raise_for_status()
            task_id = accepted.json()["task_id"]
            while True:
                answer = http.get(f"/emails/{task_id}")
                answer.raise_for_status()
                status = answer.json()["status"]
                if status == "SUCCESS":
                    break
                if status == "FAILURE":
                    raise RuntimeError(f"light load: task {task_id} failed")
                _check(started, task_id)
            seconds.append(time.perf_counter() - started)
    return seconds
