"""Where ``swy`` finds the API and the key it calls with: the environment only (a key
given as an argument would show in the shell's history and in ``ps``)."""

from __future__ import annotations

import os
from collections.abc import Mapping

import httpx

from switchyard_client import AuthenticatedClient

URL_VARIABLE = "SWITCHYARD_URL"
KEY_VARIABLE = "SWITCHYARD_API_KEY"
DEFAULT_URL = "http://127.0.0.1:8000"
#: Seconds one call may take (a wait has its own ``--timeout``).
CALL_TIMEOUT = 30.0


class MissingKey(Exception):
    """No API key in the environment."""

    def __init__(self) -> None:
        super().__init__(
            f"{KEY_VARIABLE} is not set: export the API key to call with"
            " (an operator makes one with `api keys create --tenant <tenant>`)"
        )


def api_url(environ: Mapping[str, str] = os.environ) -> str:
    """The API's address: ``SWITCHYARD_URL``, else the local default."""
    return environ.get(URL_VARIABLE, "").strip().rstrip("/") or DEFAULT_URL


def connect(environ: Mapping[str, str] = os.environ) -> AuthenticatedClient:
    """A client of the API at ``SWITCHYARD_URL`` calling with ``SWITCHYARD_API_KEY``."""
    key = environ.get(KEY_VARIABLE, "").strip()
    if not key:
        raise MissingKey
    return AuthenticatedClient(
        base_url=api_url(environ), token=key, timeout=httpx.Timeout(CALL_TIMEOUT)
    )
