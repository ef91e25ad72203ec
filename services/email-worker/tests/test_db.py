"""Waiting out a database that cannot be reached, and only that."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from email_worker import db


def unreachable() -> OperationalError:
    return OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))


def test_an_unreachable_database_is_waited_for() -> None:
    outcomes: list[Exception | str] = [unreachable(), unreachable(), "row"]

    def operation() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    sleeps: list[float] = []
    assert db.patiently(operation, sleep=sleeps.append) == "row"
    assert sleeps == [0.25, 0.5]


def test_a_refused_query_is_not_retried() -> None:
    def operation() -> None:
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    sleeps: list[float] = []
    with pytest.raises(IntegrityError):
        db.patiently(operation, sleep=sleeps.append)
    assert sleeps == []


def test_patience_runs_out() -> None:
    now = [0.0]

    def operation() -> None:
        raise unreachable()

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(OperationalError):
        db.patiently(operation, patience=10, sleep=sleep, clock=lambda: now[0])
    # 0.25 + 0.5 + 1 + 2 + 4 = 7.75 s waited; 5 more would pass the deadline.
    assert now[0] == 7.75
