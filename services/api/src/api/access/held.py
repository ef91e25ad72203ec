"""Requests held open per API key (long polls), counted across an API's server processes.

A held request costs no database connection, but it holds a socket, a task and memory
until it ends: one key must not hold them all. Each key may hold ``cap`` at once in one
API (all its server processes on one machine); past that it is refused (429).

The counts live in shared memory made before the server processes fork: a row of
counters per process, each process writing only its own row, and a key's count the sum
of its column. A key's column is chosen by its id (``SLOTS`` columns; two keys sharing
one share their cap, which errs on the side of refusing). When a process dies its row is
zeroed before its replacement starts in it, so what it held is not counted forever. Two
processes admitting the last free place at the same instant may both get it: the cap is
exact to within one per process. Replicas on other machines count on their own.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

#: Columns of the table: keys are spread over them by id.
SLOTS = 4096
_INT = 4


class TooManyHeld(Exception):
    """The key already holds its cap of requests."""

    def __init__(self, cap: int) -> None:
        super().__init__(f"this key already holds {cap} long polls")
        self.cap = cap


class HeldRequests:
    """``rows`` rows of ``SLOTS`` counters in anonymous shared memory."""

    def __init__(self, rows: int = 1) -> None:
        self.rows = rows
        self._memory = mmap.mmap(-1, rows * SLOTS * _INT)
        self._counts = memoryview(self._memory).cast("i")
        self.row = 0

    def use_row(self, row: int) -> None:
        """This process counts in ``row`` (a forked server process, after the fork)."""
        if not 0 <= row < self.rows:
            raise ValueError(f"no row {row} of {self.rows}")
        self.row = row

    def clear_row(self, row: int) -> None:
        """Forget what ``row``'s process held (it died)."""
        start = row * SLOTS * _INT
        self._memory[start : start + SLOTS * _INT] = bytes(SLOTS * _INT)

    def count(self, key: UUID) -> int:
        slot = key.int % SLOTS
        return sum(self._counts[row * SLOTS + slot] for row in range(self.rows))

    @contextmanager
    def hold(self, key: UUID, cap: int) -> Iterator[None]:
        """Count one more request held for ``key`` while the block runs; refuse past ``cap``."""
        if self.count(key) >= cap:
            raise TooManyHeld(cap)
        index = self.row * SLOTS + key.int % SLOTS
        self._counts[index] += 1
        try:
            yield
        finally:
            self._counts[index] = max(0, self._counts[index] - 1)


#: The table of this API: made by the supervisor before it forks (:func:`prepare`), or,
#: for a single process, on first use.
_table: HeldRequests | None = None


def prepare(processes: int) -> HeldRequests:
    """Make the table shared by ``processes`` server processes (before forking them)."""
    global _table
    _table = HeldRequests(processes)
    return _table


def table() -> HeldRequests:
    """This process's view of the table."""
    global _table
    if _table is None:
        _table = HeldRequests(1)
    return _table
