"""``GET /v1/workflows/{id}/events``: the workflow's status as a live stream."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException
from fastapi.responses import StreamingResponse

from api.access import held
from api.deps import CallerDep, ServicesDep, held_refusal
from api.schemas import not_found
from api.workflows import reading, streaming, values, workflow_rows

router = APIRouter(tags=["workflows"])


@router.get(
    "/v1/workflows/{workflow_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "server-sent events: `event: workflow` with the document, `id:` "
            "its ETag; `: heartbeat` comments; the stream ends after a finished document",
            "content": {
                streaming.MEDIA_TYPE: {
                    # Each event, as server-sent event tools (and schemathesis) read one.
                    "schema": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "string", "description": "the document's ETag"},
                            "event": {"type": "string", "enum": ["workflow"]},
                            "data": {"type": "string", "description": "the status document"},
                        },
                    }
                }
            },
        },
        **not_found(reading.NOT_FOUND),
    },
)
async def stream_workflow(
    workflow_id: str,
    services: ServicesDep,
    caller: CallerDep,
    last_event_id: Annotated[
        str | None,
        Header(max_length=200, description="the `id:` of the last event received"),
    ] = None,
) -> StreamingResponse:
    """The workflow's document at once, then each time it changes, until it is finished.

    Reconnect with ``Last-Event-ID`` to resume without being sent the document you have.
    A stream counts against the key's cap of held requests (``LONG_POLLS_PER_KEY``).
    """
    parsed = values.parse_id(workflow_id)
    if parsed is None or await workflow_rows.read(services.pool, parsed, caller.tenant) is None:
        raise HTTPException(404, reading.NOT_FOUND)
    cap = services.settings.long_polls_per_key
    if held.table().count(caller.key_id) >= cap:
        status, detail, headers = held_refusal(held.TooManyHeld(cap))
        raise HTTPException(status, detail, headers=headers)
    return StreamingResponse(
        streaming.events(
            services.pool,
            services.watchers,
            parsed,
            caller,
            last_event_id=last_event_id,
            cap=cap,
        ),
        media_type=streaming.MEDIA_TYPE,
        headers=streaming.HEADERS,
    )
