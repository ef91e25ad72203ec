"""Waiting for a workflow to finish: following its live stream, else long polls.

The stream (``GET /v1/workflows/{id}/events``) sends the document at once and on each
change, and ends after a finished one. A stream that drops is resumed with
``Last-Event-ID`` (the ETag of the document in hand), so nothing is seen twice. Where
there is no stream to follow (an API without it, a proxy that refuses it), the same
document is long-polled (``?wait=30`` with ``If-None-Match``); an error the API gives
either way is raised as :class:`~switchyard_client.errors.ApiError`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import anyio
import attrs
import httpx
from httpx_sse import aconnect_sse

from switchyard_client.errors import ApiError
from switchyard_client.generated.client import AuthenticatedClient
from switchyard_client.generated.models.workflow_document import WorkflowDocument

#: The statuses after which a workflow's document no longer changes.
FINISHED = frozenset({"succeeded", "failed", "cancelled"})
#: Seconds one long poll is held: the most the API holds one.
LONG_POLL = 30.0
#: The stream sends a heartbeat every 15 seconds: one silent this long has died.
SILENCE = 45.0

#: Called with each document a wait sees, the first and the final one included.
OnChange = Callable[[WorkflowDocument], object]


class WaitTimeout(TimeoutError):
    """The workflow had not finished when the wait's time was up."""

    def __init__(self, workflow_id: str, timeout: float, last: WorkflowDocument | None) -> None:
        seen = f" (still {last.status})" if last is not None else ""
        super().__init__(f"workflow {workflow_id} did not finish within {timeout:g}s{seen}")
        self.workflow_id = workflow_id
        self.timeout = timeout
        #: The last document seen before the time was up, if any.
        self.last = last


@dataclass
class _Seen:
    """What a wait has seen: the latest document and the ETag the API names it by."""

    path: str
    on_change: OnChange | None
    document: WorkflowDocument | None = None
    etag: str | None = None

    def saw(self, body: Mapping[str, Any], etag: str | None) -> bool:
        """Take a new document; whether it is final."""
        self.document = WorkflowDocument.from_dict(body)
        self.etag = etag or None
        if self.on_change is not None:
            self.on_change(self.document)
        return self.document.status in FINISHED


async def wait_async(
    client: AuthenticatedClient,
    workflow_id: str,
    timeout: float,
    *,
    on_change: OnChange | None = None,
) -> WorkflowDocument:
    """The workflow's final document, once it is ``succeeded``, ``failed`` or ``cancelled``.

    ``on_change`` is called with every document seen on the way (the current one first).
    Raises :class:`WaitTimeout` after ``timeout`` seconds, and
    :class:`~switchyard_client.errors.ApiError` when the API refuses (an unknown id: 404).
    """
    seen = _Seen(f"/v1/workflows/{quote(workflow_id, safe='')}", on_change)
    http = client.get_async_httpx_client()
    with anyio.move_on_after(timeout):
        if not await _follow_stream(http, seen):
            await _long_poll(http, seen)
        if seen.document is not None:
            return seen.document
    raise WaitTimeout(workflow_id, timeout, seen.document)


def wait(
    client: AuthenticatedClient,
    workflow_id: str,
    timeout: float,
    *,
    on_change: OnChange | None = None,
) -> WorkflowDocument:
    """:func:`wait_async` for synchronous code: it runs an event loop of its own, with
    connections of its own (from async code, await :func:`wait_async` instead)."""

    async def waiting() -> WorkflowDocument:
        # A copy without the client's connections: an async connection is bound to the
        # event loop it was made in, and this loop ends with the wait.
        async with attrs.evolve(client) as own:
            return await wait_async(own, workflow_id, timeout, on_change=on_change)

    return anyio.run(waiting)


async def _follow_stream(http: httpx.AsyncClient, seen: _Seen) -> bool:
    """Follow the stream to a finished document (True), resuming it when it drops; False
    when there is no stream to follow, or a resumed one brought nothing new."""
    while True:
        received = False
        headers = {"Last-Event-ID": seen.etag} if seen.etag else {}
        # A stream that drops is resumed below if it brought anything.
        with contextlib.suppress(httpx.TransportError):
            async with aconnect_sse(
                http,
                "GET",
                f"{seen.path}/events",
                headers=headers,
                timeout=httpx.Timeout(10.0, read=SILENCE),
            ) as source:
                if not _is_stream(source.response):
                    return False
                async for event in source.aiter_sse():
                    if event.event != "workflow":
                        continue
                    received = True
                    if seen.saw(json.loads(event.data), event.id):
                        return True
        if not received:
            return False


def _is_stream(response: httpx.Response) -> bool:
    media = response.headers.get("content-type", "").partition(";")[0].strip()
    return response.status_code == 200 and media == "text/event-stream"


async def _long_poll(http: httpx.AsyncClient, seen: _Seen) -> None:
    """Long-poll the document until it is finished."""
    while True:
        if seen.etag is None:
            answer = await http.get(seen.path)
        else:
            answer = await http.get(
                seen.path,
                params={"wait": LONG_POLL},
                headers={"If-None-Match": seen.etag},
                timeout=httpx.Timeout(10.0, read=LONG_POLL + 10.0),
            )
        if answer.status_code == 304:
            continue
        if answer.status_code != 200:
            raise ApiError.from_answer(answer.status_code, answer.content)
        if seen.saw(answer.json(), answer.headers.get("etag")):
            return
