"""A sliding-window rate limit per API key, kept in each API process's memory.

The limits are written in the ``limits`` library's notation and parsed by it
(``"20/second;1000/minute"``); the counting is a sliding window counter (as the
library's own strategy of that name): per key and limit, the calls of the current fixed
window plus the previous window's, weighted by how much of it still overlaps. Two
integers per key and limit, O(1) per check. The library's in-memory storage starts a
timer thread every 10 ms to expire its entries, which under load cost more than the
check; these windows simply roll over when a call comes.

Each replica counts on its own, so N replicas admit up to N times the limit; a shared
store (``limits`` also speaks Redis and Memcached) would make it exact, at one more
round trip per request.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from limits import parse_many


@dataclass
class _Window:
    start: int  # index of the current fixed window
    current: int = 0
    previous: int = 0


class RateLimiter:
    """``check(key)`` answers ``None`` when the call may go ahead, else seconds to wait."""

    def __init__(
        self,
        spec: str,
        clock: Callable[[], float] = time.monotonic,
        max_windows: int = 100_000,
    ) -> None:
        self.items = [(item.amount, item.get_expiry()) for item in parse_many(spec)]
        self.max_windows = max_windows
        self._prune_at = max_windows
        self._clock = clock
        self._windows: dict[tuple[str, int], _Window] = {}

    def check(self, key: str) -> int | None:
        now = self._clock()
        if len(self._windows) > self._prune_at:
            self._prune(now)
        counted = []
        for number, (amount, seconds) in enumerate(self.items):
            index, into = divmod(now, seconds)
            window = self._window(key, number, int(index))
            if window.previous * (1 - into / seconds) + window.current + 1 > amount:
                # Never longer than the limit's own period (a client asking again then
                # may be told to wait a little more).
                return max(1, math.ceil(min(seconds, _wait(amount, seconds, into, window))))
            counted.append(window)
        for window in counted:
            window.current += 1
        return None

    def _prune(self, now: float) -> None:
        """Drop the windows that no longer count (callers not seen for two periods):
        many callers (client addresses) must not grow the table without end."""
        current = [int(now // seconds) for _amount, seconds in self.items]
        self._windows = {
            (key, number): window
            for (key, number), window in self._windows.items()
            if window.start >= current[number] - 1
        }
        # Live callers beyond the bound are kept; the next pruning waits until there are
        # twice as many, so pruning stays O(1) per check on average.
        self._prune_at = max(self.max_windows, 2 * len(self._windows))

    def _window(self, key: str, number: int, index: int) -> _Window:
        window = self._windows.get((key, number))
        if window is None:
            window = self._windows[(key, number)] = _Window(index)
        elif window.start != index:
            window.previous = window.current if window.start == index - 1 else 0
            window.current = 0
            window.start = index
        return window


def _wait(amount: int, seconds: int, into: float, window: _Window) -> float:
    """Seconds until one more call fits: while the previous window's calls slide out, or
    else once this window's own calls, become the previous ones, have slid out enough."""
    weight = 1 - into / seconds
    excess = window.previous * weight + window.current + 1 - amount
    if window.previous and excess <= window.previous * weight:
        return excess * seconds / window.previous
    needed = 1 - (amount - 1) / window.current if window.current else 0.0
    return seconds - into + max(0.0, seconds * needed)
