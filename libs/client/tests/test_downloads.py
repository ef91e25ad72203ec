"""A report is saved whole, under the API's name or the one asked for, or not at all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from switchyard_client import ApiError, download_report

REPORT = "8c3e1f2a-6b7d-4e9f-8a1b-2c3d4e5f6a7b"
CONTENT = f"/v1/reports/{REPORT}/content"
CSV = b"day,sent\n2026-11-01,3\n"


def attachment(name: str, body: bytes = CSV) -> httpx.Response:
    return httpx.Response(
        200,
        headers={
            "content-type": "text/csv",
            "content-disposition": f'attachment; filename="{name}"',
        },
        content=body,
    )


def test_saved_under_the_apis_name_in_a_directory(api, tmp_path: Path) -> None:
    api.on(CONTENT, lambda _request: attachment("email_activity.csv"))
    saved = download_report(api.client(), REPORT, tmp_path)
    assert saved == tmp_path / "email_activity.csv"
    assert saved.read_bytes() == CSV
    assert [path.name for path in tmp_path.iterdir()] == ["email_activity.csv"]


def test_a_name_given_by_the_api_cannot_leave_the_directory(api, tmp_path: Path) -> None:
    inside = tmp_path / "inside"
    inside.mkdir()
    api.on(CONTENT, lambda _request: attachment("../../escaped.csv"))
    assert download_report(api.client(), REPORT, inside) == inside / "escaped.csv"


def test_saved_to_the_file_asked_for(api, tmp_path: Path) -> None:
    api.on(CONTENT, lambda _request: attachment("email_activity.csv"))
    target = tmp_path / "november.csv"
    assert download_report(api.client(), REPORT, target) == target
    assert target.read_bytes() == CSV


def test_a_report_not_stored_raises_and_writes_nothing(api, tmp_path: Path) -> None:
    detail = "report not found (a report exists once its step succeeded)"
    api.on(CONTENT, lambda _request: httpx.Response(404, json={"detail": detail}))
    with pytest.raises(ApiError) as raised:
        download_report(api.client(), REPORT, tmp_path)
    assert (raised.value.status, raised.value.detail) == (404, detail)
    assert list(tmp_path.iterdir()) == []


def test_a_download_cut_short_leaves_no_file(api, tmp_path: Path) -> None:
    def cut_short() -> Iterator[bytes]:
        yield CSV
        raise httpx.ReadError("connection reset")

    api.on(
        CONTENT,
        lambda _request: httpx.Response(
            200,
            headers={"content-disposition": 'attachment; filename="r.csv"'},
            content=cut_short(),
        ),
    )
    with pytest.raises(httpx.ReadError):
        download_report(api.client(), REPORT, tmp_path)
    assert list(tmp_path.iterdir()) == []
