"""``/ui``: a small read-only status page of the caller's workflows.

The page is static HTML and JavaScript from the package (no build step) and holds no
data: it asks for an API key (or takes it once from the URL fragment, ``/ui#key=...``,
which browsers never send to a server), keeps it in the tab's ``sessionStorage`` and
reads the JSON API with ``Authorization: Bearer``, so it is authenticated exactly like
the API and has no cookie a third-party site could ride on. A strict Content Security
Policy allows only this origin's script and calls.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter, Response

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


@cache
def asset(name: str) -> bytes:
    return files("api").joinpath("ui", name).read_bytes()


@router.get("/ui")
def page() -> Response:
    return Response(asset("index.html"), media_type="text/html; charset=utf-8", headers=HEADERS)


@router.get("/ui/app.js")
def script() -> Response:
    return Response(asset("app.js"), media_type="text/javascript; charset=utf-8", headers=HEADERS)


@router.get("/ui/style.css")
def style() -> Response:
    return Response(asset("style.css"), media_type="text/css; charset=utf-8", headers=HEADERS)
