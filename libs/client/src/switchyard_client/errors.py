"""A call the API refused, as an exception carrying the API's own words."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any, TypeVar

from switchyard_client.generated.types import Response

T = TypeVar("T")


class ApiError(Exception):
    """The API answered with an error: its HTTP status and the ``detail`` it gave."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{detail} (HTTP {status})")
        self.status = status
        self.detail = detail

    @classmethod
    def from_answer(cls, status: int, content: bytes) -> ApiError:
        """The error an answer carries: its body's detail, else the status's reason."""
        return cls(status, describe(content) or _reason(status))


def describe(content: bytes) -> str | None:
    """An error body's ``detail`` for a person: an ``ErrorBody``'s text as it is, each of a
    422's validation errors as ``where: what`` (``body.to.0: value is not an email``)."""
    try:
        body = json.loads(content)
    except ValueError:
        return None
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list) and detail:
        return "; ".join(_validation_error(error) for error in detail)
    return None


def _validation_error(error: object) -> str:
    if not isinstance(error, dict):
        return str(error)
    where = ".".join(str(part) for part in error.get("loc", []))
    what = str(error.get("msg", ""))
    return f"{where}: {what}" if where else what


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "unexpected answer"


def expect(response: Response[Any], parse: Callable[[Mapping[str, Any]], T]) -> T:
    """The body of a successful answer, parsed (``expect(answer, Accepted.from_dict)``);
    any other answer raises :class:`ApiError` with the API's detail.

    The body is parsed here rather than taken from ``response.parsed``: a replayed
    submission (200, the same ``Idempotency-Key`` and body) carries the same body as the
    202 the generated code types, but the description gives the 200 no schema.
    """
    if not 200 <= response.status_code < 300:
        raise ApiError.from_answer(response.status_code, response.content)
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ApiError(response.status_code, "the API answered with something not a JSON object")
    return parse(body)
