"""Reading a Prometheus endpoint the way a scrape does."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

#: Every sample of one scrape: ``{(name, labels): value}``.
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(url: str) -> Samples:
    """Every sample at a Prometheus endpoint, by name and labels."""
    response = httpx.get(url, timeout=10)
    response.raise_for_status()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when the scrape has none of that name and labels."""
    return found.get((name, frozenset(labels.items())), 0.0)
