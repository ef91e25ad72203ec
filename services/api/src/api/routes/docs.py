"""``/docs``: Swagger UI on ``/openapi.json``, served entirely by the API.

FastAPI's own page loads Swagger UI from a CDN and starts it with an inline script, so a
third party's code would run on the API's origin. Here the page is a static file of the
package, Swagger UI's script and stylesheet come from the ``fastapi-offline`` package
(``/docs/assets/``), and the start-up script is a file of ours (``/docs/init.js``): the
page's Content Security Policy then allows scripts, styles and calls of this origin only
(and ``data:`` images, which Swagger UI's stylesheet uses for its icons). There is no
``/redoc``: ReDoc styles itself with inline ``<style>`` elements, which such a policy
refuses.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter, FastAPI, Response
from fastapi.staticfiles import StaticFiles

PATH = "/docs"
ASSETS = "/docs/assets"

router = APIRouter(include_in_schema=False)

HEADERS = {
    # ``frame-ancestors 'none'`` is added to every response's policy (api.security_headers).
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@cache
def _asset(name: str) -> bytes:
    return files("api").joinpath("docs", name).read_bytes()


@router.get(PATH)
def page() -> Response:
    return Response(_asset("index.html"), media_type="text/html; charset=utf-8", headers=HEADERS)


@router.get(f"{PATH}/init.js")
def start_script() -> Response:
    return Response(_asset("init.js"), media_type="text/javascript; charset=utf-8", headers=HEADERS)


def install(app: FastAPI) -> None:
    """Serve ``/docs`` and its assets on ``app`` (made with ``docs_url=None``)."""
    app.include_router(router)
    app.mount(ASSETS, StaticFiles(packages=[("fastapi_offline", "static")]), name="docs-assets")
