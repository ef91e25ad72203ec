"""Per-tenant quotas: recipients per day and reports per hour, counted in PostgreSQL.

A submission is counted by ``api.charge_quotas`` (migration 0008) inside the very
statement, or transaction, that stores its workflow: no extra round trip, one counter
row per tenant, quota and window locked while it is added to, so the limits hold across
every API process and replica. Past a limit the function raises, the statement fails,
nothing is stored or counted, and the caller is answered 429 (:func:`refusal`). An
``Idempotency-Key`` replay stores nothing and so counts nothing.

Windows are fixed and in UTC: a calendar day for recipients (to, cc and bcc of every
email step), a clock hour for reports (every report step). A tenant's own limits
(``api quotas set``) override the defaults ``QUOTA_RECIPIENTS_PER_DAY`` and
``QUOTA_REPORTS_PER_HOUR``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import anyio
import asyncpg
import structlog

from api.db import Executor

log = structlog.get_logger(__name__)

RECIPIENTS_PER_DAY = "recipients_per_day"
REPORTS_PER_HOUR = "reports_per_hour"
QUOTAS = (RECIPIENTS_PER_DAY, REPORTS_PER_HOUR)
#: What ``api.charge_quotas`` raises with (its detail is the refusal as JSON).
EXCEEDED = "switchyard quota exceeded"

_DESCRIBED = {RECIPIENTS_PER_DAY: "recipients per day", REPORTS_PER_HOUR: "reports per hour"}


@dataclass(frozen=True)
class Charge:
    """What one submission adds to its tenant's counters, and the limits when the
    tenant has none of its own."""

    recipients: int
    reports: int
    default_recipients_per_day: int
    default_reports_per_hour: int


@dataclass(frozen=True)
class Exceeded:
    """A submission that would pass one of its tenant's quotas."""

    quota: str
    limit: int
    used: int
    requested: int
    resets_at: datetime

    def body(self) -> dict[str, object]:
        """The 429 answer's body (:class:`api.schemas.TooManyRequests`)."""
        return {
            "detail": (
                f"quota of {self.limit} {_DESCRIBED.get(self.quota, self.quota)} exceeded:"
                f" {self.used} used, {self.requested} asked; it resets at"
                f" {self.resets_at.isoformat()}"
            ),
            "quota": self.quota,
            "limit": self.limit,
            "used": self.used,
            "requested": self.requested,
            "resets_at": self.resets_at.isoformat(),
        }

    def retry_after(self, now: datetime) -> int:
        """Whole seconds until the window resets (at least 1)."""
        return max(1, math.ceil((self.resets_at - now).total_seconds()))


def exceeded(error: asyncpg.PostgresError) -> Exceeded | None:
    """The refusal ``api.charge_quotas`` raised, or ``None`` for any other error."""
    if not isinstance(error, asyncpg.RaiseError) or error.args[:1] != (EXCEEDED,):
        return None
    detail = json.loads(getattr(error, "detail", None) or "{}")
    return Exceeded(
        quota=str(detail["quota"]),
        limit=int(detail["limit"]),
        used=int(detail["used"]),
        requested=int(detail["requested"]),
        resets_at=datetime.fromisoformat(detail["resets_at"]).astimezone(UTC),
    )


@dataclass(frozen=True)
class TenantQuotas:
    """A tenant's limits (its own, or ``None`` where the default applies) and its use."""

    tenant: str
    recipients_per_day: int | None
    reports_per_hour: int | None
    #: Counted in the current window, by quota.
    used: dict[str, int]


def window(quota: str, at: datetime) -> tuple[datetime, datetime]:
    """The start and end of ``quota``'s window holding ``at`` (UTC)."""
    at = at.astimezone(UTC)
    if quota == RECIPIENTS_PER_DAY:
        start = at.replace(hour=0, minute=0, second=0, microsecond=0)
        return start, start + timedelta(days=1)
    start = at.replace(minute=0, second=0, microsecond=0)
    return start, start + timedelta(hours=1)


async def set_limits(
    conn: Executor, tenant: str, limits: Mapping[str, int | None], at: datetime
) -> None:
    """Give ``tenant`` its own limits, by quota name; ``None`` goes back to the default,
    a quota not named is left as it is."""
    columns = [quota for quota in QUOTAS if quota in limits]
    if unknown := set(limits) - set(QUOTAS):
        raise ValueError(f"unknown quotas: {sorted(unknown)}")
    values = [limits[quota] for quota in columns]
    placeholders = ", ".join(f"${number}" for number in range(3, 3 + len(columns)))
    updates = "".join(f", {column} = EXCLUDED.{column}" for column in columns)
    await conn.execute(
        f"INSERT INTO api.tenant_quotas (tenant, updated_at{''.join(', ' + c for c in columns)})"
        f" VALUES ($1, $2{', ' if columns else ''}{placeholders})"
        f" ON CONFLICT (tenant) DO UPDATE SET updated_at = EXCLUDED.updated_at{updates}",
        tenant,
        at,
        *values,
    )


async def show(conn: Executor, at: datetime, tenant: str | None = None) -> list[TenantQuotas]:
    """Every tenant with limits of its own or use in the current windows (or ``tenant``
    alone, whether or not it has either)."""
    day, _ = window(RECIPIENTS_PER_DAY, at)
    hour, _ = window(REPORTS_PER_HOUR, at)
    rows = await conn.fetch(
        "WITH tenants AS ("
        " SELECT tenant FROM api.tenant_quotas"
        " UNION SELECT tenant FROM api.quota_usage WHERE window_start >= $1)"
        " SELECT t.tenant, q.recipients_per_day, q.reports_per_hour,"
        " coalesce(r.used, 0) AS recipients_used, coalesce(p.used, 0) AS reports_used"
        " FROM (SELECT tenant FROM tenants WHERE $3::text IS NULL"
        "       UNION SELECT $3::text WHERE $3::text IS NOT NULL) AS t"
        " LEFT JOIN api.tenant_quotas AS q ON q.tenant = t.tenant"
        " LEFT JOIN api.quota_usage AS r ON r.tenant = t.tenant"
        f"  AND r.quota = '{RECIPIENTS_PER_DAY}' AND r.window_start = $1"
        " LEFT JOIN api.quota_usage AS p ON p.tenant = t.tenant"
        f"  AND p.quota = '{REPORTS_PER_HOUR}' AND p.window_start = $2"
        " ORDER BY t.tenant",
        day,
        hour,
        tenant,
    )
    return [
        TenantQuotas(
            tenant=row["tenant"],
            recipients_per_day=row["recipients_per_day"],
            reports_per_hour=row["reports_per_hour"],
            used={
                RECIPIENTS_PER_DAY: row["recipients_used"],
                REPORTS_PER_HOUR: row["reports_used"],
            },
        )
        for row in rows
    ]


async def forget_ended(conn: Executor, now: datetime) -> int:
    """Delete counters of windows that ended over a day ago; the number deleted."""
    status: str = await conn.execute(
        "DELETE FROM api.quota_usage WHERE window_start < $1", now - timedelta(days=2)
    )
    return int(status.rsplit(" ", 1)[-1])


async def expire(pool: asyncpg.Pool, every: float) -> None:
    """Forget ended windows' counters every ``every`` seconds, until cancelled."""
    while True:
        try:
            forgotten = await forget_ended(pool, datetime.now(UTC))
            if forgotten:
                log.info("quota counters expired", count=forgotten)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            # The database may be away; try again next round.
            log.warning("quota counter expiry failed", error=repr(error))
        await anyio.sleep(every)
