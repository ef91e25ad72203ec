"""Held requests per key: capped, counted across forked server processes, and freed when
a process dies."""

from __future__ import annotations

import os
import uuid

import pytest

from api.access.held import SLOTS, HeldRequests, TooManyHeld


def test_a_key_holds_up_to_its_cap_and_a_finished_hold_frees_its_place() -> None:
    table = HeldRequests()
    key, other = uuid.UUID(int=1), uuid.UUID(int=2)
    with table.hold(key, 2), table.hold(key, 2):
        assert table.count(key) == 2
        with pytest.raises(TooManyHeld) as refused:
            table.hold(key, 2).__enter__()
        assert refused.value.cap == 2
        with table.hold(other, 2):
            assert table.count(other) == 1, "each key has its own cap"
    assert table.count(key) == 0
    with table.hold(key, 2):
        assert table.count(key) == 1


def test_a_hold_ends_even_when_its_request_fails() -> None:
    table = HeldRequests()
    key = uuid.uuid4()
    with pytest.raises(RuntimeError), table.hold(key, 1):
        raise RuntimeError("the request broke")
    assert table.count(key) == 0


def test_holds_of_other_processes_count_and_a_dead_ones_are_cleared() -> None:
    table = HeldRequests(rows=2)
    key = uuid.uuid4()
    pid = os.fork()
    if pid == 0:  # a server process holding two and then dying without letting go
        table.use_row(1)
        holding = [table.hold(key, 5), table.hold(key, 5)]
        for hold in holding:
            hold.__enter__()
        os._exit(0)
    os.waitpid(pid, 0)
    assert table.count(key) == 2
    with table.hold(key, 3), pytest.raises(TooManyHeld):
        table.hold(key, 3).__enter__()
    table.clear_row(1)
    assert table.count(key) == 0


def test_rows_and_slots_are_bounded() -> None:
    table = HeldRequests(rows=2)
    with pytest.raises(ValueError):
        table.use_row(2)
    # keys one table width apart share a slot, and so a cap: refusing, never admitting more
    first, second = uuid.UUID(int=7), uuid.UUID(int=7 + SLOTS)
    with table.hold(first, 1), pytest.raises(TooManyHeld):
        table.hold(second, 1).__enter__()
