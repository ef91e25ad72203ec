"""Downloading a stored report's bytes to a file."""

from __future__ import annotations

from email.message import Message
from pathlib import Path
from urllib.parse import quote

import httpx

from switchyard_client.errors import ApiError
from switchyard_client.generated.client import AuthenticatedClient


def download_report(client: AuthenticatedClient, report_id: str, to: Path | None = None) -> Path:
    """Save the report's bytes and return where: at ``to``, or, when ``to`` is a directory
    or not given (the current one), under the file name the API gives it.

    The bytes are streamed to a hidden file beside the target, renamed into place once
    complete: the target is never left half written. A refusal raises
    :class:`~switchyard_client.errors.ApiError` (404 for a report not stored yet).
    """
    path = f"/v1/reports/{quote(report_id, safe='')}/content"
    with client.get_httpx_client().stream("GET", path) as answer:
        if answer.status_code != 200:
            answer.read()
            raise ApiError.from_answer(answer.status_code, answer.content)
        target = _target(to, answer, report_id)
        partial = target.with_name(f".{target.name}.part")
        try:
            with partial.open("wb") as file:
                for chunk in answer.iter_bytes():
                    file.write(chunk)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    return target


def _target(to: Path | None, answer: httpx.Response, report_id: str) -> Path:
    if to is not None and not to.is_dir():
        return to
    return (to or Path()) / _filename(answer, report_id)


def _filename(answer: httpx.Response, report_id: str) -> str:
    """The name ``Content-Disposition`` gives, without any directory part; else the id."""
    header = Message()
    header["content-disposition"] = answer.headers.get("content-disposition", "")
    given = Path(header.get_filename() or "").name
    return given or report_id
