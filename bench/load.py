"""What the load sends and how its latencies are summarised: the bodies wrk posts to each
stack (``{n}``, each request's number, in the subject so no two are alike) and
nearest-rank percentiles of latencies the suite measured itself."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

#: A small transactional email, as a consumer of the product sends one.
PRODUCT_EMAIL = json.dumps(
    {
        "to": ["reader@example.com"],
        "subject": "Benchmark message {n}",
        "text": "Hello from the benchmark.",
        "lane": "transactional",
    },
    separators=(",", ":"),
)

#: The same email in the tutorial's body.
TUTORIAL_EMAIL = json.dumps(
    {
        "to": "reader@example.com",
        "subject": "Benchmark message {n}",
        "body": "Hello from the benchmark.",
    },
    separators=(",", ":"),
)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_ms(values: Sequence[float], qs: Sequence[int]) -> dict[str, float]:
    """Percentiles of latencies in seconds, in milliseconds (``{"p50": ...}``)."""
    return {f"p{q}": round(percentile(values, q) * 1000, 2) for q in qs}
