"""Quotas: windows in UTC, the refusal read from what PostgreSQL raised, its answer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import asyncpg
import pytest

from api.access import quotas


def raised(detail: dict[str, object], message: str = quotas.EXCEEDED) -> asyncpg.RaiseError:
    error = asyncpg.RaiseError(message)
    error.detail = json.dumps(detail)  # as asyncpg fills it from the server's DETAIL
    return error


def test_windows_are_a_utc_day_and_a_clock_hour() -> None:
    at = datetime(2026, 12, 2, 23, 30, 5, tzinfo=timezone(timedelta(hours=-2)))  # 01:30 UTC
    assert quotas.window(quotas.RECIPIENTS_PER_DAY, at) == (
        datetime(2026, 12, 3, tzinfo=UTC),
        datetime(2026, 12, 4, tzinfo=UTC),
    )
    assert quotas.window(quotas.REPORTS_PER_HOUR, at) == (
        datetime(2026, 12, 3, 1, tzinfo=UTC),
        datetime(2026, 12, 3, 2, tzinfo=UTC),
    )


def test_the_refusal_is_read_from_the_functions_detail() -> None:
    error = raised(
        {
            "quota": "recipients_per_day",
            "limit": 5,
            "used": 4,
            "requested": 2,
            "resets_at": "2026-12-03T01:00:00+01:00",
        }
    )
    refused = quotas.exceeded(error)
    assert refused == quotas.Exceeded(
        quota="recipients_per_day",
        limit=5,
        used=4,
        requested=2,
        resets_at=datetime(2026, 12, 3, tzinfo=UTC),
    )
    body = refused.body()
    assert body["resets_at"] == "2026-12-03T00:00:00+00:00"
    assert {k: body[k] for k in ("quota", "limit", "used", "requested")} == {
        "quota": "recipients_per_day",
        "limit": 5,
        "used": 4,
        "requested": 2,
    }
    assert "5 recipients per day" in str(body["detail"])


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.RaiseError("something else went wrong"),
        asyncpg.UniqueViolationError("duplicate key"),
    ],
)
def test_any_other_error_is_no_refusal(error: asyncpg.PostgresError) -> None:
    assert quotas.exceeded(error) is None


def test_retry_after_is_the_whole_seconds_until_the_reset_and_at_least_one() -> None:
    refused = quotas.Exceeded("reports_per_hour", 1, 1, 1, datetime(2026, 12, 2, 5, tzinfo=UTC))
    assert refused.retry_after(datetime(2026, 12, 2, 4, 59, 58, 500_000, tzinfo=UTC)) == 2
    assert refused.retry_after(datetime(2026, 12, 2, 5, 0, 0, 1, tzinfo=UTC)) == 1
