"""What a backlog costs when nothing happens: CPU of the API and PostgreSQL with many
unfinished workflows stored and no traffic at all, and PostgreSQL transactions of the
bench database over a window.

A system whose cost follows work, not backlog, spends next to nothing here whatever is
queued; one that re-reads every unfinished row on a timer spends in proportion to them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import psycopg

from bench.resources import CpuMeter


def cpu(trees: Mapping[str, int], seconds: float) -> dict[str, float]:
    """Each tree's CPU over ``seconds`` of nothing, as a percentage of one core."""
    with CpuMeter(trees) as meter:
        time.sleep(seconds)
    return meter.percent_of_a_core()


def transactions(admin_url: str, database: str) -> int:
    """Transactions committed and rolled back in ``database`` so far, read from another
    database (the read itself would count in its own) on a fresh connection, so no
    statistics snapshot of an earlier read is reused."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_clear_snapshot()")
        row = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
            (database,),
        ).fetchone()
    if row is None:
        raise RuntimeError(f"no statistics for database {database}")
    return int(row[0])


def transactions_over(admin_url: str, database: str, seconds: float) -> int:
    """Transactions of ``database`` during the next ``seconds``.

    Backends report their counts when a transaction ends, at most once a second (sooner
    when they go idle), so a window's edges blur by about a second either way, the same
    for every window.
    """
    before = transactions(admin_url, database)
    time.sleep(seconds)
    return transactions(admin_url, database) - before
