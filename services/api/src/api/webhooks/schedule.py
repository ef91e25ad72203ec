"""When a failed webhook attempt is tried again, and when the delivery is given up.

A receiver that is down for a deploy or an afternoon should still get the event, so a
delivery is retried for a whole window (``WEBHOOK_RETRY_FOR``, 24 hours) after its first
attempt: exponentially at first, then every ``WEBHOOK_RETRY_MAX`` (an hour), each wait
with a random half taken off so that the deliveries of a receiver's outage do not all
come back at once (:class:`api.workflows.retries.RetryPolicy`'s curve, the outbox's).
The last wait is cut to end at the window's close, so the last attempt is made then.
Waits are whole seconds: Celery's native delayed delivery, which carries the retry,
counts in seconds.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from api.workflows.retries import RetryPolicy


@dataclass(frozen=True)
class RetrySchedule:
    """Retries for ``window`` seconds after the first attempt; the wait after the n-th
    failure grows as ``base * 2**(n-1)`` up to ``cap`` (a random half taken off)."""

    base: float = 5.0
    cap: float = 3600.0
    window: float = 86400.0
    #: A number in [0, 1): ``random.random`` unless a test fixes it.
    uniform: Callable[[], float] = field(default=random.random, compare=False)

    def delay(self, failures: int, elapsed: float) -> int | None:
        """Whole seconds to wait after the ``failures``-th failed attempt (1 for the
        first), made ``elapsed`` seconds after the first attempt; ``None`` when the
        window has closed and the delivery is given up."""
        remaining = self.window - elapsed
        if remaining <= 0:
            return None
        curve = RetryPolicy(base=self.base, cap=self.cap, uniform=self.uniform)
        return max(1, math.ceil(min(curve.delay(failures), remaining)))
