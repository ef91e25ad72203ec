"""The listing cursor: opaque, URL-safe, and refused clearly when it is not ours."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest

from api.workflows.listing import Cursor


def opaque(raw: bytes) -> str:
    """Encode ``raw`` the way the API encodes its cursors."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC),
        datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC),
        datetime(2024, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5))),
    ],
)
def test_a_cursor_round_trips(moment: datetime) -> None:
    cursor = Cursor(moment, uuid4())
    decoded = Cursor.decode(cursor.encode())
    assert decoded == cursor
    assert decoded.created_at.utcoffset() == moment.utcoffset()


def test_the_encoded_cursor_is_url_safe_without_padding() -> None:
    for _ in range(20):
        value = Cursor(datetime.now(UTC), uuid4()).encode()
        assert value
        assert not set(value) & set("+/=&?# ")


def test_different_positions_encode_differently() -> None:
    moment = datetime(2025, 3, 1, tzinfo=UTC)
    first = Cursor(moment, UUID(int=1)).encode()
    assert first != Cursor(moment, UUID(int=2)).encode()
    assert first != Cursor(moment + timedelta(microseconds=1), UUID(int=1)).encode()


@pytest.mark.parametrize(
    "value",
    [
        "",
        "not a cursor",
        "!!!!",
        "é",
        opaque(b"not json"),
        opaque(b"\xff\xfe\x00garbage"),
        opaque(b"{}"),
        opaque(b"42"),
        opaque(b'"ab"'),
        opaque(json.dumps({"created_at": "2025-03-01T00:00:00+00:00"}).encode()),
        opaque(json.dumps(["2025-03-01T00:00:00+00:00"]).encode()),
        opaque(json.dumps(["2025-03-01T00:00:00+00:00", str(uuid4()), "x"]).encode()),
        opaque(json.dumps(["yesterday", str(uuid4())]).encode()),
        opaque(json.dumps(["2025-03-01T00:00:00+00:00", "not-a-uuid"]).encode()),
        # A naive timestamp cannot be compared with the timestamptz column.
        opaque(json.dumps(["2025-03-01T00:00:00", str(uuid4())]).encode()),
        # Well-formed JSON with values of the wrong types.
        opaque(json.dumps([1, 2]).encode()),
        opaque(json.dumps(["2025-03-01T00:00:00+00:00", None]).encode()),
        opaque(json.dumps(["2025-03-01T00:00:00+00:00", 5]).encode()),
        opaque(json.dumps(["2025-03-01T00:00:00+00:00", ["x"]]).encode()),
        opaque(json.dumps([None, str(uuid4())]).encode()),
    ],
)
def test_anything_we_did_not_hand_out_is_refused_with_a_value_error(value: str) -> None:
    with pytest.raises(ValueError, match=r"^invalid cursor$"):
        Cursor.decode(value)


def test_a_tampered_cursor_is_refused() -> None:
    good = Cursor(datetime(2025, 3, 1, tzinfo=UTC), uuid4()).encode()
    with pytest.raises(ValueError, match="invalid cursor"):
        Cursor.decode(good[: len(good) // 2])
