"""What a backlog costs when nothing happens: CPU of the API and PostgreSQL with many
unfinished workflows stored and no traffic at all, and which of the API's connections
queried the bench database over a window.

A system whose cost follows work, not backlog, spends next to nothing here whatever is
queued; one that re-reads every unfinished row on a timer spends in proportion to them.
Held long polls are checked the same way: no connection of the API should query the
database while they wait.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime

import psycopg

from bench.resources import CpuMeter


def cpu(trees: Mapping[str, int], seconds: float) -> dict[str, float]:
    """Each tree's CPU over ``seconds`` of nothing, as a percentage of one core."""
    with CpuMeter(trees) as meter:
        time.sleep(seconds)
    return meter.percent_of_a_core()


#: The API's connections that serve requests, by application name: a held poll is a
#: request. Background work (the status updater's slow sweep, a listener's keep-alive)
#: has connections of its own, runs on its own schedule, and is in the idle CPU figure.
POOLS = ("api",)


def _server_now(admin_url: str) -> datetime:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        row = conn.execute("SELECT clock_timestamp()").fetchone()
    assert row is not None
    moment: datetime = row[0]
    return moment


def connections_queried_over(admin_url: str, database: str, seconds: float) -> int:
    """How many of the API's request connections to ``database`` started a statement in
    the next ``seconds`` (none: no request queried the database).

    Read from ``pg_stat_activity`` (when each backend's last statement started), not
    from the transaction counters, which an idle backend reports up to ten seconds late.
    """
    since = _server_now(admin_url)
    time.sleep(seconds)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
            " AND application_name = ANY(%s) AND query_start >= %s",
            (database, list(POOLS), since),
        ).fetchone()
    assert row is not None
    return int(row[0])
