"""When the relay tries a refused outbox message again, and when it gives up on it.

A refusal is the broker's verdict on one message (a ``basic.nack``, a channel error its
publish caused), so it backs off alone: exponentially, capped, with jitter so that many
messages refused at once (a queue at its ``max-length``) do not come back together.
Failures of the broker as a whole (unreachable, blocking publishers, no confirm in
time) are not counted here: they say nothing about the message, and an outage must not
use up every message's attempts. A quorum queue that lost its majority does nack each
publish, so the defaults (as ``OUTBOX_MAX_ATTEMPTS`` and ``OUTBOX_RETRY_BACKOFF_MAX``) last
9 to 18 minutes of refusals.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` refusals at most; the wait after the n-th grows as ``base * 2**(n-1)``
    up to ``cap``, of which a random half is taken off."""

    max_attempts: int = 12
    base: float = 1.0
    cap: float = 300.0
    #: A number in [0, 1): ``random.random`` unless a test fixes it.
    uniform: Callable[[], float] = field(default=random.random, compare=False)

    def exhausted(self, attempts: int) -> bool:
        """Whether a message refused ``attempts`` times is given up."""
        return attempts >= self.max_attempts

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th refusal (1 for the first)."""
        ceiling = min(self.cap, self.base * 2.0 ** max(0, attempts - 1))
        return ceiling / 2 + ceiling / 2 * self.uniform()
