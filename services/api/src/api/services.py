"""What the app builds at start-up: plain objects, free of the web framework, so that
domain code (:mod:`api.workflows.submit`) can take them without importing FastAPI."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from celery import Celery

from api.access import keys
from api.access.gate import Gate
from api.access.ratelimit import RateLimiter
from api.config import Settings
from api.metrics import WorkflowMetrics
from api.readiness import Readiness
from api.workflows.relay import OutboxRelay
from api.workflows.watchers import Watchers


@dataclass
class Services:
    """What the app builds at start-up and the routes use."""

    settings: Settings
    #: Connections for requests.
    pool: asyncpg.Pool
    celery: Celery
    relay: OutboxRelay
    limiter: RateLimiter
    metrics: WorkflowMetrics
    keys: keys.KeyCache
    watchers: Watchers
    #: The key check of every request (:mod:`api.access.gate`).
    gate: Gate
    #: ``/readyz``'s answer, checked at most once a second (:mod:`api.readiness`).
    readiness: Readiness
