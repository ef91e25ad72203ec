"""How much work each measurement does, at full size and for ``--quick``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    """How much work each measurement does."""

    tasks: int  # baseline no-ops
    emails: int  # emails down each stack's pipeline
    light: int  # emails one at a time (light load), each stack
    stored: int  # finished workflows stored before the status reads
    read_seconds: float  # seconds of status reads, each stack and the ceiling
    rows: int  # delivery rows the report reads
    unfinished: int  # unfinished workflows stored for the idle cost and the long polls
    idle_seconds: float  # seconds of no traffic over which the idle cost is read
    held: int  # long polls held at once
    held_submits: int = 50  # sequential submits while the polls are held
    window_seconds: float = 10.0  # each window in which the API's queries are looked for
    clients: int = 64  # concurrent connections of the closed loops
    concurrency: int = 2  # prefork processes of the baseline's and the tutorial's workers
    scaling_emails: int = 5_000  # the backlog of each round of email workers scaling


FULL = Sizes(
    tasks=2_000,
    emails=2_000,
    light=200,
    stored=1_000_000,
    read_seconds=10,
    rows=1_000_000,
    unfinished=100_000,
    idle_seconds=30,
    held=1_000,
)
QUICK = Sizes(
    tasks=500,
    emails=200,
    light=20,
    stored=10_000,
    read_seconds=3,
    rows=10_000,
    unfinished=10_000,
    idle_seconds=10,
    held=100,
    # Enough that a worker still has a backlog when the meters start, a second in.
    scaling_emails=1_000,
)
