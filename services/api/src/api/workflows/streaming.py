"""A workflow's live status stream (server-sent events), fed by in-process wakeups.

The stream sends the current document at once (``event: workflow``, ``id:`` its ETag),
then each new one when this process is told the document changed (the same wakeups
as long polls, :mod:`.watchers`: one indexed read per change, none while nothing
changes), a comment line as heartbeat while nothing does, and ends after a finished
document. A client reconnecting with ``Last-Event-ID`` is not sent the document it
already has again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import asyncpg

from api.access import held
from api.access.keys import Caller
from api.workflows import workflow_rows
from api.workflows.watchers import Watchers

#: Seconds between heartbeats of a stream with nothing new.
HEARTBEAT = 15.0
MEDIA_TYPE = "text/event-stream"
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def event(stored: workflow_rows.Stored) -> bytes:
    """One ``workflow`` event carrying the stored document (compact JSON: one line)."""
    data = "\n".join(f"data: {line}" for line in stored.text.splitlines())
    return f"id: {stored.etag}\nevent: workflow\n{data}\n\n".encode()


async def events(
    pool: asyncpg.Pool,
    watchers: Watchers,
    workflow_id: UUID,
    caller: Caller,
    *,
    last_event_id: str | None,
    cap: int,
    heartbeat: float = HEARTBEAT,
) -> AsyncIterator[bytes]:
    """The stream's bytes, held against ``caller``'s cap of held requests."""
    try:
        hold = held.table().hold(caller.key_id, cap)
        hold.__enter__()
    except held.TooManyHeld:
        return  # lost a race for the last place since the route checked: end at once
    try:
        sent = last_event_id.strip() if last_event_id else None
        # Watching before reading: a change stored between the two is not missed.
        with watchers.watch(workflow_id) as watch:
            while True:
                stored = await workflow_rows.read(pool, workflow_id, caller.tenant)
                if stored is None:
                    return
                if stored.etag != sent:
                    yield event(stored)
                    sent = stored.etag
                if stored.finished:
                    return
                while not await watch.wait(heartbeat):
                    yield b": heartbeat\n\n"
    finally:
        hold.__exit__(None, None, None)
