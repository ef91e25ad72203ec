"""A sliding-window rate limit per API key, kept in each API process's memory.

The ``limits`` library's sliding window counter: two counters per key and window, so a
check costs the same whatever the limit (its moving window keeps a timestamp per call,
and a check of a high limit walks thousands of them).

Each replica counts on its own, so N replicas admit up to N times the limit; a shared
store (``limits`` also speaks Redis and Memcached) would make it exact, at one more
round trip per request.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter


class RateLimiter:
    """``check(key)`` answers ``None`` when the call may go ahead, else seconds to wait."""

    def __init__(self, spec: str) -> None:
        self.items: list[RateLimitItem] = parse_many(spec)
        self.limiter = SlidingWindowCounterRateLimiter(MemoryStorage())

    def check(self, key: str) -> int | None:
        for item in self.items:
            if not self.limiter.hit(item, key):
                reset = self.limiter.get_window_stats(item, key).reset_time
                return max(1, math.ceil(reset - time.time()))
        return None
