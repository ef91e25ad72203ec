"""The API's database connections: asyncpg pools, timestamps in UTC.

The API talks to PostgreSQL through asyncpg directly. SQLAlchemy's asyncio engine costs
a status read more than the read itself: on this project's benchmark machine a route
reading one row served 2,100-2,300 reads/s through it and 4,200/s through an asyncpg
pool, with the same FastAPI app and the same query (``bench/README.md``). Statements are
plain SQL next to what they do (``api.workflows.workflow_rows`` and its neighbours); the tables are
still declared once, in :mod:`api.tables`, for the migrations.

A pooled connection is never left holding session state (advisory locks and LISTEN live
on dedicated connections, :mod:`api.workflows.notifications`), so a connection goes back
to its pool as it is, without asyncpg's reset round trip. The pools may therefore go
through PgBouncer's transaction mode (``DATABASE_POOLER=transaction``): asyncpg then keeps
no prepared statements (``statement_cache_size=0``: a parse per query, each on the
server connection of its own transaction) and sends no startup parameter PgBouncer does
not track. The dedicated connections go to ``DATABASE_SESSION_URL``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from asyncpg.pool import PoolAcquireContext, PoolConnectionProxy

from switchyard_runtime.settings import PlatformSettings


def dsn(settings: PlatformSettings) -> str:
    """The plain ``postgresql://`` URL asyncpg takes."""
    return str(settings.database_url)


def session_dsn(settings: PlatformSettings) -> str:
    """The URL of the dedicated connections, which need a session of their own."""
    return settings.session_database_url


async def _as_is(connection: asyncpg.Connection) -> None:
    """Nothing to reset: no pooled connection keeps session state."""


def server_settings(application_name: str) -> dict[str, str]:
    return {"timezone": "UTC", "application_name": application_name}


class PoolExhausted(TimeoutError):
    """No connection of the pool came free within its bounded wait."""


class _BoundedAcquire(PoolAcquireContext):
    __slots__ = ()

    async def __aenter__(self) -> PoolConnectionProxy:
        try:
            connection: PoolConnectionProxy = await super().__aenter__()
        except TimeoutError as error:
            raise PoolExhausted(f"no database connection free within {self.timeout} s") from error
        return connection


class BoundedPool(asyncpg.Pool):
    """An asyncpg pool whose every checkout (``pool.fetchrow`` and friends included)
    waits at most ``acquire_timeout`` seconds, then raises :class:`PoolExhausted`.

    asyncpg's own default is to wait for ever: a burst of slow requests would queue every
    later one behind them instead of answering them 503 at once.
    """

    def __init__(self, *args: Any, acquire_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None) -> PoolAcquireContext:
        return _BoundedAcquire(self, self.acquire_timeout if timeout is None else timeout)


async def create_pool(
    settings: PlatformSettings,
    *,
    size: int,
    application_name: str = "api",
    durable_commits: bool = True,
    acquire_timeout: float = 2.0,
) -> asyncpg.Pool:
    """A pool of up to ``size`` connections, opened lazily, each checkout waiting at
    most ``acquire_timeout`` seconds (:class:`BoundedPool`).

    ``durable_commits=False`` is for work whose writes can be made again from what is
    durable already (the status updater's documents, derived from the result rows; the
    relay's deletes of published messages, which would only be published again): its
    commits do not wait for the WAL to reach the disk (``synchronous_commit=off``).
    Through a transaction pooler, which refuses that startup parameter, they do wait.
    """
    pooled = settings.transaction_pooled
    options = server_settings(application_name)
    if not durable_commits and not pooled:
        options["synchronous_commit"] = "off"
    pool = BoundedPool(
        dsn(settings),
        acquire_timeout=acquire_timeout,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        min_size=0,
        max_size=size,
        max_queries=50000,
        statement_cache_size=0 if pooled else 100,
        max_inactive_connection_lifetime=300.0,
        setup=None,
        init=None,
        reset=_as_is,
        loop=None,
        connect=None,
        server_settings=options,
    )
    await pool
    return pool


async def connect(settings: PlatformSettings, application_name: str) -> asyncpg.Connection:
    """One dedicated connection (for LISTEN and session locks), on the session URL."""
    connection: asyncpg.Connection = await asyncpg.connect(
        session_dsn(settings), server_settings=server_settings(application_name)
    )
    return connection


#: A connection: a dedicated one or one of a pool's.
Connection = asyncpg.Connection | PoolConnectionProxy
#: What runs a statement: a connection, or a pool (a connection for that statement).
Executor = asyncpg.Connection | PoolConnectionProxy | asyncpg.Pool
#: A row as read (asyncpg's), or any mapping of column to value.
Row = asyncpg.Record | Mapping[str, Any]


@asynccontextmanager
async def transaction(pool: asyncpg.Pool) -> AsyncIterator[Connection]:
    """A pooled connection inside a transaction (committed when the block ends)."""
    async with pool.acquire() as connection, connection.transaction():
        yield connection
