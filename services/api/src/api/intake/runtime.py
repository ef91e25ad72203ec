"""The intake's database access from Celery's synchronous world."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

import asyncpg

from api import db
from api.config import Settings

T = TypeVar("T")


class Runtime:
    """One event loop and one small connection pool per worker process.

    The API's database code is asyncio (asyncpg); a prefork child runs it on a loop of
    its own that lives as long as the process, so pooled connections are reused. A child
    forked from a process that already had them builds its own.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._pid: int | None = None
        self._runner: asyncio.Runner | None = None
        self._pool: asyncpg.Pool | None = None

    def _ensure(self) -> tuple[asyncio.Runner, asyncpg.Pool]:
        if self._runner is None or self._pool is None or self._pid != os.getpid():
            self._runner = asyncio.Runner()
            self._pool = self._runner.run(
                db.create_pool(self._settings, size=2, application_name="api-intake")
            )
            self._pid = os.getpid()
        return self._runner, self._pool

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def pool(self) -> asyncpg.Pool:
        return self._ensure()[1]

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self._ensure()[0].run(coroutine)
