"""``/ui``: a small status page of the caller's workflows, each with its timeline.

The page is static HTML and JavaScript modules from the package (no build step, only the
files in :data:`ASSETS`) and holds no data: it asks for an API key (or takes it once from
the URL fragment, ``/ui#key=...``, which browsers never send to a server), keeps it in
the tab's ``sessionStorage`` and calls the JSON API with ``Authorization: Bearer``, so it
is authenticated exactly like the API and has no cookie a third-party site could ride
on. A strict Content Security Policy allows only this origin's files and calls.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter, HTTPException, Response

router = APIRouter(tags=["ui"], include_in_schema=False)

HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


#: The page's files and their types; the page loads nothing else.
ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "detail.js": "text/javascript; charset=utf-8",
    "dom.js": "text/javascript; charset=utf-8",
    "list.js": "text/javascript; charset=utf-8",
    "timeline.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}


@cache
def asset(name: str) -> bytes:
    return files("api").joinpath("ui", name).read_bytes()


@router.get("/ui")
def page() -> Response:
    return Response(asset("index.html"), media_type="text/html; charset=utf-8", headers=HEADERS)


@router.get("/ui/{name}")
def page_file(name: str) -> Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise HTTPException(404, "no such file of the status page")
    return Response(asset(name), media_type=media_type, headers=HEADERS)
