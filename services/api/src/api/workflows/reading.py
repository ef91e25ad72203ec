"""Answering a status read: the stored document, its ETag, and the long poll.

Shared by the documented FastAPI route and the plain ASGI path that serves the same
reads without FastAPI's routing and dependency resolution (:mod:`api.routes.fast_paths`).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import anyio
import asyncpg

from api.access import held
from api.access.keys import Caller
from api.workflows import workflow_rows
from api.workflows.watchers import Watchers

MAX_WAIT = 30.0
#: Suggested seconds between polls of an unfinished workflow.
RETRY_AFTER = "1"
NOT_FOUND = "workflow not found"


@dataclass(frozen=True)
class Answer:
    """What a status read answers: 200 with the document, 304, or 404."""

    status: int
    headers: dict[str, str]
    body: str | None = None


def matches(if_none_match: str | None, tag: str) -> bool:
    """Whether ``If-None-Match`` names ``tag`` (or ``*``); weak tags compare as strong."""
    if if_none_match is None:
        return False
    candidates = {c.strip().removeprefix("W/") for c in if_none_match.split(",")}
    return "*" in candidates or tag in candidates


def _answer(stored: workflow_rows.Stored, if_none_match: str | None) -> Answer:
    headers = {"ETag": stored.etag, "Cache-Control": "no-cache"}
    if not stored.finished:
        headers["Retry-After"] = RETRY_AFTER
    if matches(if_none_match, stored.etag):
        return Answer(304, headers)
    return Answer(200, headers, stored.text)


async def answer(
    pool: asyncpg.Pool,
    watchers: Watchers,
    workflow_id: UUID,
    caller: Caller,
    *,
    wait: float = 0,
    if_none_match: str | None = None,
    cap: int,
) -> Answer | None:
    """The read's answer; ``None`` when the caller's tenant has no such workflow.

    With ``wait`` and an ``If-None-Match`` naming the current document, the request is
    held until this process is told the document changed (no query while it waits), or
    until ``wait`` seconds passed (304). A key holds at most ``cap`` such requests at
    once (:class:`api.access.held.TooManyHeld` past it).
    """
    tenant = caller.tenant
    if wait <= 0 or if_none_match is None:
        stored = await workflow_rows.read(pool, workflow_id, tenant)
        return None if stored is None else _answer(stored, if_none_match)
    deadline = anyio.current_time() + wait
    # Watching before reading: a change stored between the two is not missed.
    with held.table().hold(caller.key_id, cap), watchers.watch(workflow_id) as watch:
        stored = await workflow_rows.read(pool, workflow_id, tenant)
        while stored is not None and matches(if_none_match, stored.etag):
            remaining = deadline - anyio.current_time()
            if remaining <= 0 or not await watch.wait(remaining):
                break
            stored = await workflow_rows.read(pool, workflow_id, tenant)
    return None if stored is None else _answer(stored, if_none_match)
