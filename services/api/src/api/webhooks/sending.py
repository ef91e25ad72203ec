"""One webhook attempt: the body, its Standard Webhooks signature, and the POST.

The body is ``{"type": "workflow.finished", "data": <the final document>}``, the document
as the API serves it. The headers are Standard Webhooks' (standardwebhooks.com):
``webhook-id`` (the delivery's, the same on every attempt, so a receiver drops a repeat),
``webhook-timestamp`` (this attempt's, in Unix seconds: receivers refuse old ones) and
``webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``, made by the
``standardwebhooks`` package with the endpoint's ``whsec_`` secret.

The request goes to the address that was checked (:class:`api.webhooks.addresses.
Destination`), the name in ``Host`` and SNI; redirects are not followed (a 3xx is a
failed attempt: following one would reach a URL nobody checked); every wait (connect,
send, the answer) is bounded by ``WEBHOOK_TIMEOUT``; the answer's body is never read. A
client per attempt: a pooled connection to an address is not reused for another name.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

import httpx
from standardwebhooks.webhooks import Webhook

from api.webhooks.addresses import Destination
from api.webhooks.deliveries import Attempt

USER_AGENT = "Switchyard-Webhooks/1"


def body_of(event: str, document: str) -> str:
    """The request body: the stored document inlined as it is (it is JSON already)."""
    return f'{{"type":"{event}","data":{document}}}'


def signed_headers(secret: str, message_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of ``body`` sent at ``at``."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(math.floor(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def _failure(response: httpx.Response) -> str | None:
    code = response.status_code
    if 200 <= code < 300:
        return None
    if 300 <= code < 400:
        return f"HTTP {code}: redirects are not followed"
    return f"HTTP {code}"


def post(
    destination: Destination, headers: dict[str, str], body: str, *, timeout: float
) -> Attempt:
    """POST ``body`` to ``destination``; what came of it (never raises for the network)."""
    at = datetime.now(UTC)
    started = time.monotonic()
    extensions = {"sni_hostname": destination.host} if destination.url.scheme == "https" else {}
    status_code: int | None = None
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            request = client.build_request(
                "POST",
                destination.pinned_url,
                content=body.encode(),
                headers={**headers, "host": destination.url.netloc.decode("ascii")},
                extensions=extensions,
            )
            response = client.send(request, stream=True)
            response.close()
        status_code = response.status_code
        error = _failure(response)
    except httpx.TimeoutException:
        error = f"no answer within {timeout:g} s"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    duration_ms = round((time.monotonic() - started) * 1000)
    return Attempt(at=at, duration_ms=duration_ms, status_code=status_code, error=error)
