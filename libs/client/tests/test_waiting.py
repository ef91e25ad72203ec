"""Waiting follows the stream to the final document, resumes it, or long-polls without it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx
import pytest

from switchyard_client import ApiError, WaitTimeout, WorkflowDocument, wait, wait_async

WORKFLOW_ID = "0b6f7f6e-3c1d-4d8e-9a55-2f7f1f0f3c11"
DOCUMENT_PATH = f"/v1/workflows/{WORKFLOW_ID}"
EVENTS_PATH = f"{DOCUMENT_PATH}/events"

Answer = Callable[[httpx.Request], httpx.Response]


def document(status: str) -> dict[str, Any]:
    """A status document of one email step, as the API stores it."""
    finished = "2026-12-01T09:30:01+00:00" if status in {"succeeded", "failed"} else None
    return {
        "id": WORKFLOW_ID,
        "kind": "email",
        "status": status,
        "origin": "api",
        "request_id": "req-1",
        "created_at": "2026-12-01T09:30:00+00:00",
        "updated_at": "2026-12-01T09:30:00+00:00",
        "finished_at": finished,
        "progress": {"completed": 1 if finished else 0, "total": 1},
        "steps": [
            {
                "name": "email.send",
                "task_id": "5d2a7c1e-8f3b-4b6a-a1d2-9e8f7a6b5c4d",
                "status": status,
                "attempts": 1,
                "started_at": None,
                "finished_at": finished,
                "result": None,
                "error": None,
                "worker": None,
                "progress": None,
            }
        ],
        "result": None,
        "error": None,
    }


def event(body: dict[str, Any], etag: str) -> bytes:
    return f'id: "{etag}"\nevent: workflow\ndata: {json.dumps(body)}\n\n'.encode()


def stream(*events: bytes, then_hang: bool = False, then_drop: bool = False) -> Answer:
    """An event stream of ``events`` that ends, or then stays open and silent (``then_hang``)
    or loses its connection (``then_drop``)."""

    async def body() -> AsyncIterator[bytes]:
        yield b": heartbeat\n\n"
        for each in events:
            yield each
        if then_hang:
            await anyio.sleep_forever()
        if then_drop:
            raise httpx.ReadError("connection reset by peer")

    return lambda _request: httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content=body()
    )


def json_answer(status: int, body: Any, etag: str | None = None) -> Answer:
    headers = {"etag": f'"{etag}"'} if etag else {}
    return lambda _request: httpx.Response(status, json=body, headers=headers)


def unchanged() -> Answer:
    return lambda _request: httpx.Response(304)


def statuses(seen: list[WorkflowDocument]) -> list[str]:
    return [str(each.status) for each in seen]


def test_the_stream_is_followed_to_the_finished_document(api) -> None:
    api.on(
        EVENTS_PATH,
        stream(
            event(document("queued"), "e1"),
            event(document("running"), "e2"),
            event(document("succeeded"), "e3"),
        ),
    )
    seen: list[WorkflowDocument] = []
    final = wait(api.client(), WORKFLOW_ID, timeout=10, on_change=seen.append)
    assert isinstance(final, WorkflowDocument)
    assert (final.status, final.steps[0].status) == ("succeeded", "succeeded")
    assert statuses(seen) == ["queued", "running", "succeeded"]
    assert api.paths() == [EVENTS_PATH]
    assert api.requests[0].headers["authorization"] == "Bearer swy_test"


def test_a_stream_that_ends_early_is_resumed_from_the_last_event(api) -> None:
    api.on(
        EVENTS_PATH,
        stream(event(document("running"), "e1")),
        stream(event(document("succeeded"), "e2")),
    )
    seen: list[WorkflowDocument] = []
    assert wait(api.client(), WORKFLOW_ID, timeout=10, on_change=seen.append).status == (
        "succeeded"
    )
    assert statuses(seen) == ["running", "succeeded"]
    first, resumed = api.requests
    assert "last-event-id" not in first.headers
    assert resumed.headers["last-event-id"] == '"e1"'


def test_a_dropped_connection_is_resumed_from_the_last_event(api) -> None:
    api.on(
        EVENTS_PATH,
        stream(event(document("queued"), "e1"), then_drop=True),
        stream(event(document("succeeded"), "e2")),
    )
    seen: list[WorkflowDocument] = []
    assert wait(api.client(), WORKFLOW_ID, timeout=10, on_change=seen.append).status == (
        "succeeded"
    )
    assert statuses(seen) == ["queued", "succeeded"]
    assert api.requests[1].headers["last-event-id"] == '"e1"'


def test_without_a_stream_the_document_is_long_polled(api) -> None:
    api.on(EVENTS_PATH, json_answer(404, {"detail": "Not Found"}))
    api.on(
        DOCUMENT_PATH,
        json_answer(200, document("running"), etag="e1"),
        unchanged(),
        json_answer(200, document("succeeded"), etag="e2"),
    )
    seen: list[WorkflowDocument] = []
    assert wait(api.client(), WORKFLOW_ID, timeout=10, on_change=seen.append).status == (
        "succeeded"
    )
    assert statuses(seen) == ["running", "succeeded"]
    assert api.paths() == [EVENTS_PATH, DOCUMENT_PATH, DOCUMENT_PATH, DOCUMENT_PATH]
    first, *polls = api.requests[1:]
    assert "if-none-match" not in first.headers
    assert [poll.headers["if-none-match"] for poll in polls] == ['"e1"', '"e1"']
    assert all(poll.url.params["wait"] == "30.0" for poll in polls)


def test_an_unknown_workflow_raises_the_apis_words(api) -> None:
    not_found = json_answer(404, {"detail": "workflow not found"})
    api.on(EVENTS_PATH, not_found).on(DOCUMENT_PATH, not_found)
    with pytest.raises(ApiError) as raised:
        wait(api.client(), WORKFLOW_ID, timeout=10)
    assert (raised.value.status, raised.value.detail) == (404, "workflow not found")


def test_the_time_running_out_raises_with_the_last_document_seen(api) -> None:
    api.on(EVENTS_PATH, stream(event(document("running"), "e1"), then_hang=True))
    with pytest.raises(WaitTimeout) as raised:
        wait(api.client(), WORKFLOW_ID, timeout=0.5)
    assert raised.value.last is not None
    assert raised.value.last.status == "running"
    assert WORKFLOW_ID in str(raised.value)
    assert "still running" in str(raised.value)


def test_async_code_awaits_the_same_wait(api) -> None:
    api.on(EVENTS_PATH, stream(event(document("failed"), "e1")))

    async def waiting() -> WorkflowDocument:
        async with api.client() as client:
            return await wait_async(client, WORKFLOW_ID, timeout=10)

    assert anyio.run(waiting).status == "failed"
