"""What every response of the API carries: ``X-Content-Type-Options: nosniff`` and a
Content Security Policy with ``frame-ancestors 'none'``.

A browser then never reads a JSON answer as a script or a stylesheet, and no page
frames ours (clickjacking). :class:`api.correlation.RequestIdMiddleware`, the outermost
layer, calls :func:`add` on every response, the fast paths' and FastAPI's alike. A page
with a policy of its own (``/ui``, ``/docs``) keeps it, with ``frame-ancestors 'none'``
added when it lacks one: one policy per response, not two.
"""

from __future__ import annotations

CONTENT_SECURITY_POLICY = b"content-security-policy"
CONTENT_TYPE_OPTIONS = b"x-content-type-options"
FRAME_ANCESTORS = b"frame-ancestors 'none'"

_FRAME_ANCESTORS_NAME = b"frame-ancestors"
_NOSNIFF = (CONTENT_TYPE_OPTIONS, b"nosniff")
_POLICY = (CONTENT_SECURITY_POLICY, FRAME_ANCESTORS)


def add(headers: list[tuple[bytes, bytes]]) -> None:
    """Give a response's raw headers (lower-case names) ``nosniff`` and ``frame-ancestors
    'none'``, in place; what the response set itself stays."""
    policy_at = None
    sniffing = True
    for index, (name, _) in enumerate(headers):
        if name == CONTENT_SECURITY_POLICY:
            policy_at = index
        elif name == CONTENT_TYPE_OPTIONS:
            sniffing = False
    if policy_at is None:
        headers.append(_POLICY)
    else:
        name, policy = headers[policy_at]
        if _FRAME_ANCESTORS_NAME not in policy:
            headers[policy_at] = (name, policy.rstrip(b"; ") + b"; " + FRAME_ANCESTORS)
    if sniffing:
        headers.append(_NOSNIFF)
